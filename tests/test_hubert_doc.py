"""docs/hubert.md runs as printed on a tiny synthetic FSDD-style folder (pretraining cut to a
few steps): cluster MFCC, pretrain, cluster a layer, pretrain again, evaluate."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import torch

from data.audio_helpers import fsdd_like
from selfsup.cli import main
from selfsup.data.frame_labels import read_frame_labels

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "hubert.md"
FSDD = "../shared/data/fsdd/recordings"
SHORT = ["data.batch_size=8", "train.max_steps=3", "train.max_minutes=null", "train.progress=false"]
SHORT += ["eval.knn_every_n_epochs=0"]


def commands() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [shlex.split(line) for b in blocks for line in b.strip().splitlines()]


@pytest.mark.slow
def test_the_two_iterations_run_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    data = fsdd_like(tmp_path / "wav", takes=12)  # 72 clips, n 5..11 train
    argvs = commands()
    assert [a[1] for a in argvs] == ["cluster", "pretrain", "cluster", "pretrain", "eval"]
    for argv in argvs:
        assert argv[0] == "selfsup"
        args = [a.replace(FSDD, str(data)) for a in argv[1:]]
        if args[0] == "pretrain":  # the preset's epochs, cut to a few steps on tiny data
            args += [*SHORT, f"data.path={data}"]
        assert main(args) == 0, (args, capsys.readouterr().err[-2000:])
        if args[0] == "cluster":
            summary = capsys.readouterr().out.strip().splitlines()[-1]
            assert re.search(r"clustered [\d,]+ frames of 72 clips .* k=\d+ .* inertia", summary)
    first = read_frame_labels(tmp_path / "runs/fsdd-mfcc-k100.safetensors")
    second = read_frame_labels(tmp_path / "runs/fsdd-hubert1-l3-k500.safetensors")
    assert (first.num_clusters, second.num_clusters) == (100, 500)
    assert first.clips == second.clips and torch.equal(first.offsets, second.offsets)
    assert (tmp_path / "runs/hubert-fsdd-2/checkpoints").is_dir()
    # Iteration 2's labels without method.num_clusters=500: refused in one line, untrained.
    capsys.readouterr()
    args = ["pretrain", "configs/hubert-fsdd-cpu.yaml", "train.run_name=hubert-fsdd-bad"]
    args += [*SHORT, f"data.path={data}", "data.frame_labels=runs/fsdd-hubert1-l3-k500.safetensors"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("selfsup: error:") == 1 and "K=500" in err and "Traceback" not in err
    assert not (tmp_path / "runs/hubert-fsdd-bad/checkpoints").exists()
