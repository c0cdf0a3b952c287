"""Pretraining on tar shards: epochs have a known length (so ``train.max_epochs`` works), and a
run killed and resumed repeats the uninterrupted run's losses: the stream continues mid-epoch
(2 DataLoader workers) instead of starting its epoch again."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from run_helpers import StepRecorder, run_killed, tiny_digits_simclr
from selfsup.config.load import load_config, save_config
from selfsup.data.bundled import load_digits
from selfsup.data.shard_writer import write_shards
from selfsup.engine.checkpoint import latest_checkpoint
from selfsup.engine.run import pretrain, resume_run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")

# 1,347 digits in shards of 200 over 2 workers: 674 + 673 samples, 10 + 10 batches of 64 per
# epoch, so 24 steps cross into the second epoch.
TOTAL_STEPS = 24
EPOCH_STEPS = 20


def digit_shards(root: Path) -> Path:
    """The digits' train split as PNG samples in shards of 200 (the last one shorter)."""
    digits = load_digits("train")
    items = []
    for image, label in zip(digits.images, digits.labels.tolist(), strict=True):
        buffer = io.BytesIO()
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(buffer, "PNG")
        items.append((buffer.getvalue(), "png", label))
    write_shards(items, root, samples_per_shard=200)
    return root


def overrides(shards: Path, every: int) -> list[str]:
    return [
        *tiny_digits_simclr(proj_hidden=64, proj_out=32),
        "data.source=shards",
        f"data.path={shards}",
        "data.num_workers=2",
        "data.shuffle_buffer=50",
        "optim.name=lars",
        "optim.warmup_epochs=0.2",
        f"train.max_steps={TOTAL_STEPS}",
        f"train.checkpoint_every_n_steps={every}",
        "train.keep_last=5",
        "train.seed=7",
    ]


def loss_recorder() -> StepRecorder:
    return StepRecorder(lambda trainer, module, outputs: float(outputs["loss"]))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_after", "every"),
    [(7, 7), (EPOCH_STEPS, 100)],  # a mid-epoch step checkpoint; the end-of-epoch one alone
    ids=["mid-epoch", "epoch-end"],
)
def test_shard_resume_repeats_uninterrupted_losses(
    tmp_path: Path, kill_after: int, every: int
) -> None:
    cfg = load_config(None, overrides(digit_shards(tmp_path / "shards"), every))
    reference = loss_recorder()
    pretrain(cfg, run_dir=tmp_path / "straight", extra_callbacks=[reference])
    assert sorted(reference.values) == list(range(1, TOTAL_STEPS + 1))
    kept = sorted(p.name for p in (tmp_path / "straight" / "checkpoints").iterdir())
    assert f"step-{EPOCH_STEPS:08d}.ckpt" in kept  # the stream's epoch ended where expected
    run_json = json.loads((tmp_path / "straight" / "run.json").read_text())
    assert run_json["warmup_steps"] == round(0.2 * EPOCH_STEPS)  # the stream's length is known

    save_config(cfg, tmp_path / "config.yaml")
    run_dir = tmp_path / "killed"
    proc = run_killed(tmp_path / "config.yaml", run_dir, kill_after)
    assert proc.returncode == 9, proc.stderr[-2000:]
    assert latest_checkpoint(run_dir) == run_dir / "checkpoints" / f"step-{kill_after:08d}.ckpt"

    resumed = loss_recorder()
    result = resume_run(run_dir, extra_callbacks=[resumed])
    assert result.global_step == TOTAL_STEPS
    assert sorted(resumed.values) == list(range(kill_after + 1, TOTAL_STEPS + 1))
    for step, loss in resumed.values.items():
        assert loss == pytest.approx(reference.values[step], rel=1e-5, abs=1e-6), step


def test_epochs_on_shards_have_a_known_length(tmp_path: Path) -> None:
    args = [a for a in overrides(digit_shards(tmp_path / "shards"), 100) if "max_steps" not in a]
    cfg = load_config(None, [*args, "train.max_epochs=2"])
    steps = loss_recorder()
    result = pretrain(cfg, run_dir=tmp_path / "run", extra_callbacks=[steps])
    assert result.global_step == 2 * EPOCH_STEPS and len(steps.values) == 2 * EPOCH_STEPS
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["total_steps"] == 2 * EPOCH_STEPS
