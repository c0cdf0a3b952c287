"""Time-budgeted schedules: the LR cosine spans ``train.max_minutes``, not ``max_epochs``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from run_helpers import FakeTime, StepRecorder, Tick, fake_run_clock, tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.engine import progress as progress_module
from selfsup.engine.checkpoint import checkpoint_step, latest_checkpoint
from selfsup.engine.progress import ProgressClock
from selfsup.engine.run import pretrain
from selfsup.schedules import warmup_cosine, warmup_cosine_progress


def test_step_mode_matches_the_step_schedule() -> None:
    total, warmup = 50, 7
    clock = ProgressClock(total)
    for step in range(total + 3):
        expected = warmup_cosine(step, total, warmup, 0.1)
        got = warmup_cosine_progress(step, warmup, clock.fraction(step), warmup / total, 0.1)
        assert got == pytest.approx(expected, abs=1e-12), step
    assert clock.projected_total(10) == total


def test_time_budget_drives_progress_and_survives_resume() -> None:
    fake = FakeTime()
    clock = ProgressClock(total_steps=10_000, max_seconds=60.0, time_fn=fake)
    clock.start()
    fake.now += 15.0
    assert clock.fraction(10) == pytest.approx(0.25)  # time is further than 10 / 10,000 steps
    assert clock.projected_total(10) == 40  # 10 steps took a quarter of the budget
    assert clock.fraction(9_000) == pytest.approx(0.9)  # steps further than time
    state = clock.state_dict()
    resumed = ProgressClock(total_steps=10_000, max_seconds=60.0, time_fn=fake)
    resumed.load_state_dict(state)
    resumed.start()
    fake.now += 30.0
    assert resumed.fraction(20) == pytest.approx(0.75)
    fake.now += 100.0
    assert resumed.fraction(20) == 1.0


def test_clock_rejects_bad_budgets() -> None:
    with pytest.raises(ValueError, match="total_steps"):
        ProgressClock(0)
    with pytest.raises(ValueError, match="budget"):
        ProgressClock(10, max_seconds=0.0)


def test_a_timed_run_anneals_within_its_budget_and_saves_its_last_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run's clock is a fake one that every step moves on by a second: the 0.2 min budget,
    # less one step held back (the budget is checked between steps), is spent on exactly the
    # 11th step, however fast or slow the machine is.
    fake = fake_run_clock(monkeypatch)
    cfg = load_config(
        None,
        [
            *tiny_digits_simclr(),
            "optim.name=adamw",
            "optim.base_lr=0.001",
            "optim.warmup_epochs=0",
            "train.max_epochs=1000",  # ~21,000 steps: far more than 0.2 min allows
            "train.max_minutes=0.2",
            "train.checkpoint_every_n_steps=100000",
        ],
    )
    recorder = StepRecorder(
        lambda trainer, module, outputs: trainer.optimizers[0].param_groups[0]["lr"]
    )
    result = pretrain(cfg, run_dir=tmp_path / "run", extra_callbacks=[Tick(fake, 1.0), recorder])
    assert result.global_step == 11
    lrs = recorder.series()
    # One cosine over the 11 s left for training (a step-sized one would still be at its
    # peak): after step k the LR is the cosine at k / 11 of the way from the peak
    # (0.001 x 64 / 256) to 0 (k / 12 after the first, before any step was timed).
    peak = 0.001 * 64 / 256
    fractions = [1 / 12] + [k / 11 for k in range(2, 12)]
    expected = [peak * 0.5 * (1 + math.cos(math.pi * f)) for f in fractions]
    assert lrs == pytest.approx(expected, rel=1e-6, abs=1e-12)
    last = latest_checkpoint(result.run_dir)
    assert last is not None and checkpoint_step(last) == result.global_step


def test_cpu_clock_counts_process_time(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cpu, fake_wall = FakeTime(), FakeTime()
    monkeypatch.setattr(progress_module.time, "process_time", fake_cpu)
    monkeypatch.setattr(progress_module.time, "monotonic", fake_wall)
    clock = ProgressClock(total_steps=1_000, max_seconds=10.0, clock="cpu")
    clock.start()
    fake_wall.now += 50.0  # waiting for a busy machine does not use the CPU budget
    fake_cpu.now += 4.0
    assert clock.fraction(0) == pytest.approx(0.4) and not clock.out_of_time()
    fake_cpu.now += 6.0
    assert clock.out_of_time()
    with pytest.raises(ValueError, match="clock"):
        ProgressClock(10, clock="gpu")
