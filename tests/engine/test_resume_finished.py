"""Resuming a run that already ran its course says so and writes nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from run_helpers import StepRecorder, tiny_digits_simclr
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


def lr_recorder() -> StepRecorder:
    """Records the LR each step trains with, by ``global_step`` (0 for the first step)."""
    return StepRecorder(lambda t, m, opt: opt.param_groups[0]["lr"], at="before_optimizer_step")


@pytest.mark.parametrize(
    ("length", "longer", "new_total"),
    [
        ("train.max_steps=4", "train.max_steps=8", 8),
        ("train.max_epochs=1", "train.max_epochs=2", 42),
    ],
    ids=["max_steps", "max_epochs"],  # an epoch of digits is 21 steps of 64
)
def test_a_finished_run_resumed_longer_trains_the_new_steps_on_the_longer_schedule(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, length: str, longer: str, new_total: int
) -> None:
    base = [*tiny_digits_simclr(), "optim.name=adamw", "optim.warmup_epochs=0.1"]  # 2 steps
    first = lr_recorder()
    run = pretrain(load_config(None, [*base, length]), tmp_path / "run", extra_callbacks=[first])
    old_total = len(first.values)
    assert first.values[old_total - 1] > 0  # the old cosine ends at 0 after its last step

    resumed = lr_recorder()
    with caplog.at_level(logging.INFO, logger="selfsup"):
        result = resume_run(run.run_dir, [longer], extra_callbacks=[resumed])
    assert result.global_step == new_total
    assert sorted(resumed.values) == list(range(old_total, new_total))  # no step trained twice
    assert all(lr > 0 for lr in resumed.values.values()), resumed.values
    assert result.last_checkpoint == run.run_dir / "checkpoints" / f"step-{new_total:08d}.ckpt"
    assert f"length goes from {old_total} to {new_total} steps" in caplog.text
    assert f"from step {old_total + 1} at LR" in caplog.text

    # The new steps follow the schedule of a run that long from the start.
    fresh = lr_recorder()
    cfg = load_config(None, [*base, longer])
    pretrain(cfg, tmp_path / "fresh", extra_callbacks=[fresh])
    for step, lr in resumed.values.items():
        assert lr == pytest.approx(fresh.values[step], rel=1e-12), step
