"""``selfsup eval`` on a run directory it cannot write: one line naming ``--out`` before any
data is read, and an unwritable feature cache folder means features are not cached."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from selfsup.cli import main
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    cfg = load_config(
        None,
        [
            "data.source=digits", "data.batch_size=64", "backbone.name=resnet_tiny",
            "augment.name=simclr", "augment.size=8", "method.name=simclr",
            "train.max_steps=1", "train.progress=false", "eval.knn_every_n_epochs=0",
        ],
    )  # fmt: skip
    return Path(pretrain(cfg, run_dir=run).last_checkpoint)


def refuse_writes_under(folder: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Make ``folder`` unwritable: chmod, or (as root, who ignores modes) a mkdir that fails
    below it. True when simulated (then only folders not yet made are refused)."""
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if not os.access(folder, os.W_OK):
        return False
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self.is_relative_to(folder):
            raise PermissionError(13, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", mkdir)
    return True


@pytest.fixture
def read_only_run(checkpoint: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the run whose folder cannot be written; made writable again afterwards."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    copy = run / "checkpoints" / checkpoint.name
    shutil.copy(checkpoint, copy)
    yield copy
    run.chmod(stat.S_IRWXU)


def test_unwritable_run_dir_is_one_line_naming_out(
    read_only_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = read_only_run.parent.parent
    refuse_writes_under(run, monkeypatch)
    argv = ["eval", "retrieval", "--data", "digits:test", "--checkpoint", str(read_only_run)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"selfsup: error: cannot write eval results to {run / 'eval'}")
    assert err.endswith("pass --out PATH on a writable disk")
    out = tmp_path / "elsewhere" / "retrieval.json"
    assert main([*argv, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["queries"] == 450
    assert list((out.parent / "features").glob("*.safetensors"))  # cached beside --out


def test_unwritable_feature_cache_runs_uncached_and_says_so(
    read_only_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = tmp_path / "results" / "retrieval.json"
    out.parent.mkdir()
    (out.parent / "features").mkdir()
    if refuse_writes_under(out.parent / "features", monkeypatch):
        (out.parent / "features").rmdir()  # the simulated refusal needs a mkdir to refuse
    argv = ["eval", "retrieval", "--data", "digits:test", "--checkpoint", str(read_only_run)]
    with caplog.at_level(logging.INFO, logger="selfsup.eval"):
        assert main([*argv, "--out", str(out)]) == 0
    notes = [r.getMessage() for r in caplog.records if "features not cached" in r.getMessage()]
    assert len(notes) == 1 and str(out.parent / "features") in notes[0]
    assert json.loads(out.read_text())["queries"] == 450
    assert not list(out.parent.rglob("*.safetensors"))
