"""A time budget is the command's wall time: start-up and after-training work count, warmup is
a fraction of the same clock, and the run says how its time was spent."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from run_helpers import FakeTime, StepRecorder, Tick, fake_run_clock, tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.engine.progress import ProgressClock
from selfsup.engine.run import pretrain
from selfsup.schedules import warmup_cosine_fraction


def test_start_up_and_reserved_work_count_against_the_budget() -> None:
    fake = FakeTime()
    clock = ProgressClock(total_steps=10_000, max_seconds=100.0, time_fn=fake)
    launched = fake.now
    fake.now += 20.0  # imports, decoding, stem initialisation
    clock.start(launched_at=launched)
    assert clock.outside == pytest.approx(20.0) and clock.elapsed() == pytest.approx(20.0)
    clock.reserve("online kNN", 10.0)
    assert clock.training_budget() == pytest.approx(70.0)
    fake.now += 35.0
    assert clock.fraction(1) == pytest.approx(0.5)  # 35 of the 70 s left for training
    fake.now += 34.0
    assert not clock.out_of_time()
    fake.now += 1.0  # 90 s spent + 10 s reserved = the budget
    assert clock.out_of_time()


def test_a_shared_fraction_replaces_the_local_one() -> None:
    fake = FakeTime()
    clock = ProgressClock(total_steps=100, max_seconds=10.0, time_fn=fake)
    clock.start()
    fake.now += 2.0
    clock.share(0.5)
    assert clock.fraction(1) == 0.5 and clock.own_time_fraction() == pytest.approx(0.2)


def test_warmup_by_fraction_reaches_the_peak_then_anneals() -> None:
    assert warmup_cosine_fraction(0.0, 0.2, floor=0.01) == 0.01
    assert warmup_cosine_fraction(0.1, 0.2) == pytest.approx(0.5)
    assert warmup_cosine_fraction(0.2, 0.2) == pytest.approx(1.0)
    assert warmup_cosine_fraction(0.6, 0.2) == pytest.approx(0.5)
    assert warmup_cosine_fraction(1.0, 0.2, final_ratio=0.1) == pytest.approx(0.1)


def test_a_short_budget_leaves_warmup_and_peaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 warmup epochs of 100 (2% of the run by steps) would never end in a 20-step budget:
    # by the clock, warmup is the first 2% of the budget and the LR peaks in time.
    fake = fake_run_clock(monkeypatch)
    cfg = load_config(
        None,
        [
            *tiny_digits_simclr(),
            "optim.name=adamw",
            "optim.base_lr=0.001",
            "optim.warmup_epochs=20",  # 420 steps: 20% of the 2,100-step run
            "train.max_epochs=100",
            "train.max_minutes=0.5",  # 30 fake seconds, one per step
            "train.checkpoint_every_n_steps=100000",
        ],
    )
    recorder = StepRecorder(
        lambda trainer, module, outputs: trainer.optimizers[0].param_groups[0]["lr"]
    )
    result = pretrain(cfg, run_dir=tmp_path / "run", extra_callbacks=[Tick(fake, 1.0), recorder])
    assert result.global_step == 29  # one step of the 30 s is held back
    lrs = recorder.series()
    peak = 0.001 * 64 / 256
    assert max(lrs) == pytest.approx(peak, rel=0.02)  # step 6 of 30 is 20% of the way
    assert lrs.index(max(lrs)) in (5, 6)
    assert lrs[-1] < 0.01 * peak  # and the cosine ends with the budget


def test_a_warmup_longer_than_the_run_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = load_config(None, [*tiny_digits_simclr(), "optim.warmup_epochs=10", "train.max_steps=3"])
    with caplog.at_level(logging.WARNING, logger="selfsup"):
        pretrain(cfg, run_dir=tmp_path / "run")
    assert "optim.warmup_epochs=10 is 210 steps" in caplog.text
    assert "whole run (3 steps)" in caplog.text


def test_progress_lines_and_the_closing_line_when_output_is_redirected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    overrides = [o for o in tiny_digits_simclr() if o != "train.progress=false"]
    cfg = load_config(None, [*overrides, "train.max_epochs=2", "optim.warmup_epochs=0"])
    with caplog.at_level(logging.INFO, logger="selfsup"):
        result = pretrain(cfg, run_dir=tmp_path / "run")
    lines = [line for line in capsys.readouterr().err.splitlines() if "% · step " in line]
    # captured stderr is not a terminal: a plain line at every tenth of the 42 steps
    assert 9 <= len(lines) <= 12, lines
    assert "epoch 1/2" in lines[0] and "epoch 2/2" in lines[-1] and "step 42/42" in lines[-1]
    assert "img/s" in lines[1] and "ETA" in lines[1] and "\r" not in "".join(lines)
    assert result.global_step == 42
    assert "finished all 42 steps at step 42;" in caplog.text
    assert "in all (" in caplog.text and "training" in caplog.text


@pytest.mark.slow
def test_the_command_ends_within_its_time_budget(tmp_path: Path) -> None:
    budget = 40.0
    cmd = [sys.executable, "-m", "selfsup.cli", "pretrain", "configs/quickstart-digits.yaml"]
    overrides = [
        f"train.max_minutes={budget / 60}",
        "train.max_epochs=1000",
        f"train.output_dir={tmp_path}",
        "train.run_name=budget",
    ]
    root = Path(__file__).resolve().parents[2]
    if not (root / cmd[-1]).exists():
        pytest.skip(f"no {cmd[-1]} preset")
    started = time.monotonic()
    done = subprocess.run(
        [*cmd, *overrides], cwd=root, capture_output=True, text=True, timeout=10 * budget
    )
    wall = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    closing = re.search(
        r"time budget of 0\.666667 min reached at step \d+; (\d+):(\d\d) in all", done.stderr
    )
    assert closing, done.stderr[-2000:]
    # The run's own clock starts when the command is launched: start-up, data, training, the
    # online kNN and the last checkpoint all fit in the budget.
    in_all = 60 * int(closing[1]) + int(closing[2])
    assert in_all <= budget + 1.0, done.stderr[-2000:]  # the line rounds to whole seconds
    # Only the interpreter's start and the exit lie outside that clock (the command skips the
    # interpreter's teardown): the wall time stays within the budget plus 10%.
    assert wall <= 1.1 * budget + 2.0, (wall, done.stderr[-2000:])
