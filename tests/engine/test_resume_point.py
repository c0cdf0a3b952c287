"""Resume starts from the newest checkpoint that reads back whole, says which one it skipped,
and clears the temp files of writes that never finished."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from run_helpers import tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.engine.checkpoint import checkpoint_dir
from selfsup.engine.resume_point import resume_checkpoint
from selfsup.engine.run import pretrain, resume_run
from selfsup.registry import ConfigError


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    overrides = [*tiny_digits_simclr(), "optim.name=adamw", "train.max_steps=4",
                 "train.checkpoint_every_n_steps=2"]  # fmt: skip
    run_dir = pretrain(load_config(None, overrides), run_dir=tmp_path / "run").run_dir
    ckpts = checkpoint_dir(run_dir)
    newest = ckpts / "step-00000004.ckpt"
    newest.write_bytes(newest.read_bytes()[:2000])
    stale = ckpts / ".step-00000006.ckpt.abc123.tmp"
    stale.write_bytes(b"half a write")
    assert resume_checkpoint(run_dir) == ckpts / "step-00000002.ckpt"

    with caplog.at_level(logging.WARNING, logger="selfsup"):
        resume_run(run_dir, ["train.max_steps=6"])
    assert "step-00000004.ckpt" in caplog.text and "resuming from step-00000002.ckpt" in caplog.text
    assert not stale.exists()
    assert json.loads((run_dir / "run.json").read_text())["global_step"] == 6


def test_no_readable_checkpoint_is_one_line(tmp_path: Path) -> None:
    ckpts = checkpoint_dir(tmp_path)
    ckpts.mkdir(parents=True)
    (ckpts / "step-00000002.ckpt").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="no readable checkpoint") as err:
        resume_checkpoint(tmp_path)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="nothing to resume"):
        resume_checkpoint(tmp_path / "empty")
