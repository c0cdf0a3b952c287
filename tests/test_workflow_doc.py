"""docs/workflow.md runs as printed (pretraining shortened): pretrain, evaluate, report,
export, embed, the Python search block, and retrieval."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from selfsup.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "workflow.md"
PRESETS = Path(__file__).resolve().parents[1] / "configs"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.mark.slow
def test_the_workflow_runs_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(PRESETS)
    commands = [shlex.split(line) for b in blocks("bash") for line in b.strip().splitlines()]
    assert [c[1] for c in commands] == [
        "pretrain", "eval", "eval", "report", "export", "embed", "eval",
    ]  # fmt: skip
    for argv in commands:
        assert argv[0] == "selfsup"
        args = argv[1:]
        if args[0] == "pretrain":  # the doc's 20 epochs, cut to a few steps here
            args = [*args, "train.max_steps=6", "eval.knn_every_n_epochs=0"]
        assert main(args) == 0, (args, capsys.readouterr().err[-2000:])
    assert (tmp_path / "runs/digits/report.html").exists()
    assert (tmp_path / "runs/digits/export/onnx/encoder.onnx").exists()
    capsys.readouterr()
    assert len(blocks("python")) == 1
    exec(compile(blocks("python")[0], str(DOC), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 and all(line.count("digits:") == 5 for line in printed)
