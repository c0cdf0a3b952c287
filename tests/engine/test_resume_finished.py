"""Resuming a run that already ran its course says so and writes nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from run_helpers import tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain, resume_run


def test_resuming_a_finished_run_says_so_and_writes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = load_config(
        None, [*tiny_digits_simclr(), "train.max_steps=2", "train.log_every_n_steps=1"]
    )
    run = pretrain(cfg, run_dir=tmp_path / "run").run_dir
    before = json.loads((run / "run.json").read_text())
    with caplog.at_level(logging.INFO, logger="selfsup"):
        result = resume_run(run)
    assert result.global_step == 2
    assert "is finished: step 2 of 2; nothing to do" in caplog.text
    assert sorted(p.name for p in (run / "csv").iterdir()) == ["part-0"]
    assert json.loads((run / "run.json").read_text()) == before
