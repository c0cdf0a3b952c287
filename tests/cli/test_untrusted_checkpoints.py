"""A checkpoint a user hands us is untrusted: a crafted pickle is refused by every command that
reads checkpoints, with one line and before its payload can run; broken files get one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from run_helpers import tiny_digits_simclr
from selfsup.cli import main
from selfsup.config.load import load_config
from selfsup.engine.checkpoint import latest_checkpoint
from selfsup.engine.run import pretrain
from untrusted_helpers import poisoned_copy


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = load_config(None, [*tiny_digits_simclr(), "train.max_steps=1"])
    return pretrain(cfg, run_dir=tmp_path_factory.mktemp("run") / "good").run_dir


COMMANDS = {
    "eval knn": ["eval", "knn", "--train", "digits:train", "--test", "digits:test"],
    "eval linear": ["eval", "linear", "--train", "digits:train", "--test", "digits:test"],
    "eval monitors": ["eval", "monitors", "--data", "digits:test"],
    "visualize": ["visualize", "reconstruction", "--data", "digits:test"],
    "generate": ["generate", "--prompt", "x"],
    "export": ["export", "--format", "safetensors"],
    "embed": ["embed", "--data", "digits:test"],
}


@pytest.mark.parametrize("command", [*COMMANDS, "report", "resume"])
def test_a_crafted_checkpoint_is_refused_and_its_payload_never_runs(
    command: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_run, marker = poisoned_copy(run_dir, tmp_path)
    if command == "report":
        argv = ["report", str(bad_run)]
    elif command == "resume":
        argv = ["resume", str(bad_run), "train.max_steps=2"]
    else:
        argv = [*COMMANDS[command], "--checkpoint", str(bad_run)]
    if command == "embed":
        argv += ["--out", str(tmp_path / "embeddings")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "refused checkpoint" in err, err
    assert "io.open" in err or "builtins.open" in err  # the refused global is named
    assert str(latest_checkpoint(bad_run)) in err
    assert not marker.exists()


def test_broken_files_get_one_line(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = latest_checkpoint(run_dir)
    assert ckpt is not None
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(ckpt.read_bytes()[:4096])
    tensor_file = tmp_path / "tensor.ckpt"
    torch.save(torch.zeros(3), tensor_file)
    for path, words in [(truncated, "cannot read checkpoint"), (tensor_file, "not a selfsup")]:
        argv = ["eval", "knn", "--checkpoint", str(path), "--train", "digits:train"]
        assert main([*argv, "--test", "digits:test"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err and str(path) in err, err
