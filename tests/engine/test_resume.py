"""A run killed after step k and resumed gives the same losses as an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest

from run_helpers import StepRecorder, run_killed, tiny_digits_simclr
from selfsup.config.load import load_config, save_config
from selfsup.engine.checkpoint import latest_checkpoint
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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_after", "every"),
    [(5, 5), (21, 100)],  # a mid-epoch step checkpoint; the end-of-epoch checkpoint alone
    ids=["mid-epoch", "epoch-end"],
)
def test_resume_repeats_uninterrupted_losses(tmp_path: Path, kill_after: int, every: int) -> None:
    cfg = load_config(None, [*OVERRIDES, f"train.checkpoint_every_n_steps={every}"])
    reference = loss_recorder()
    pretrain(cfg, run_dir=tmp_path / "straight", extra_callbacks=[reference])
    assert len(reference.values) == TOTAL_STEPS
    # Saved every `every` steps, at the epoch end (21) and at max_steps (24); the newest 2 kept.
    kept = sorted(p.name for p in (tmp_path / "straight" / "checkpoints").iterdir())
    assert kept == ["step-00000021.ckpt", "step-00000024.ckpt"]

    config_file = tmp_path / "config.yaml"
    save_config(cfg, config_file)
    run_dir = tmp_path / "killed"
    proc = run_killed(config_file, run_dir, kill_after)
    assert proc.returncode == 9, proc.stderr[-2000:]
    assert latest_checkpoint(run_dir) == run_dir / "checkpoints" / f"step-{kill_after:08d}.ckpt"

    resumed = loss_recorder()
    result = resume_run(run_dir, extra_callbacks=[resumed])
    assert result.global_step == TOTAL_STEPS
    assert sorted(resumed.values) == list(range(kill_after + 1, TOTAL_STEPS + 1))
    for step, loss in resumed.values.items():
        assert loss == pytest.approx(reference.values[step], rel=1e-5, abs=1e-6), step


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
