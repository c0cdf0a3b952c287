"""A run killed after step k, or halfway through writing a checkpoint, and resumed gives the
same losses as an uninterrupted run; the half-written checkpoint never becomes latest."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from run_helpers import StepRecorder, run_killed, tiny_digits_simclr
from selfsup.config.load import load_config, save_config
from selfsup.engine.checkpoint import checkpoint_dir, latest_checkpoint
from selfsup.engine.run import pretrain, resume_run

TOTAL_STEPS = 24  # digits train has 1,347 images: 21 steps of 64 per epoch, so this crosses one
OVERRIDES = [
    *tiny_digits_simclr(proj_hidden=64, proj_out=32),
    "optim.name=lars",
    "optim.warmup_epochs=0.2",
    f"train.max_steps={TOTAL_STEPS}",
    "train.keep_last=2",
    "train.seed=7",
]


def loss_recorder() -> StepRecorder:
    """Records each step's loss by ``global_step``."""
    return StepRecorder(lambda trainer, module, outputs: float(outputs["loss"]))


EVERY = 5  # checkpoints at 5, 10, 15, 20, the epoch end (21) and max_steps (24)
SAVED_AT = [5, 10, 15, 20, 21, 24]


def kill_cases() -> list[pytest.param]:
    """Where the kill/resume runs are killed: two fixed points, steps picked by seeds, and a
    kill halfway through a checkpoint write (its step picked by a seed too)."""
    cases = [
        pytest.param(5, EVERY, False, id="mid-epoch-5"),
        pytest.param(21, 100, False, id="epoch-end-only-21"),  # the epoch-end checkpoint alone
    ]
    for seed in (2, 5):  # after the first checkpoint, so there is one to resume from
        step = random.Random(seed).randint(EVERY + 1, TOTAL_STEPS - 1)
        cases.append(pytest.param(step, EVERY, False, id=f"seed{seed}-step{step}"))
    step = random.Random(5).choice(SAVED_AT[:-1])
    cases.append(pytest.param(step, EVERY, True, id=f"seed5-during-write-{step}"))
    return cases


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[int, float]:
    """The losses of one uninterrupted run, by step (shared: saving does not change them)."""
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    cfg = load_config(None, [*OVERRIDES, f"train.checkpoint_every_n_steps={EVERY}"])
    reference = loss_recorder()
    pretrain(cfg, run_dir=run_dir, extra_callbacks=[reference])
    assert len(reference.values) == TOTAL_STEPS
    # The newest 2 of the saves are kept.
    kept = sorted(p.name for p in checkpoint_dir(run_dir).iterdir())
    assert kept == ["step-00000021.ckpt", "step-00000024.ckpt"]
    return reference.values


@pytest.mark.slow
@pytest.mark.parametrize(("kill_at", "every", "during_write"), kill_cases())
def test_resume_repeats_uninterrupted_losses(
    tmp_path: Path, uninterrupted: dict[int, float], kill_at: int, every: int, during_write: bool
) -> None:
    cfg = load_config(None, [*OVERRIDES, f"train.checkpoint_every_n_steps={every}"])
    config_file = tmp_path / "config.yaml"
    save_config(cfg, config_file)
    run_dir = tmp_path / "killed"
    proc = run_killed(config_file, run_dir, kill_at, during_write)
    assert proc.returncode == (-signal.SIGKILL if during_write else 9), proc.stderr[-2000:]
    saved = [s for s in ([*range(every, TOTAL_STEPS, every), 21]) if s <= kill_at]
    # A kill mid-write leaves that checkpoint as a hidden temp file, never "latest".
    last = max(s for s in saved if s < kill_at) if during_write else max(saved, default=0)
    stale = list(checkpoint_dir(run_dir).glob(f".step-{kill_at:08d}.ckpt.*.tmp"))
    assert len(stale) == (1 if during_write else 0)
    assert latest_checkpoint(run_dir) == checkpoint_dir(run_dir) / f"step-{last:08d}.ckpt"

    resumed = loss_recorder()
    result = resume_run(run_dir, extra_callbacks=[resumed])
    assert result.global_step == TOTAL_STEPS
    assert not any(p.exists() for p in stale)
    assert sorted(resumed.values) == list(range(last + 1, TOTAL_STEPS + 1))
    for step, loss in resumed.values.items():
        assert loss == pytest.approx(uninterrupted[step], rel=1e-5, abs=1e-6), step


def test_resume_without_checkpoint_is_a_config_error(tmp_path: Path) -> None:
    from selfsup.registry import ConfigError

    cfg = load_config(None, OVERRIDES)
    save_config(cfg, tmp_path / "config.yaml")
    with pytest.raises(ConfigError, match="nothing to resume"):
        resume_run(tmp_path)


def test_fresh_run_refuses_to_overwrite_a_run(tmp_path: Path) -> None:
    from selfsup.registry import ConfigError

    cfg = load_config(None, [*OVERRIDES, "train.max_steps=1"])
    pretrain(cfg, run_dir=tmp_path)
    with pytest.raises(ConfigError, match="already holds a run; continue it with 'selfsup resume"):
        pretrain(cfg, run_dir=tmp_path)
