"""Tiny runs (SimCLR, Audio-MAE) on a spectrogram ViT over FSDD-style synthetic clips, for the
evaluation, baseline, visualize and report tests of audio checkpoints."""

from __future__ import annotations

from pathlib import Path

from data.audio_helpers import FSDD_PATTERN, fsdd_like
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain

TAKES = 10  # takes 0..4 are the test split, 5..9 train: 30 clips each (3 digits x 2 speakers)


def _audio_overrides(data: Path) -> list[str]:
    """The clips and the spectrogram ViT every tiny audio run shares."""
    return [
        "data.source=audio", f"data.path={data}", "data.sample_rate=8000",
        "data.max_seconds=0.3", f"data.label_pattern={FSDD_PATTERN}", "data.label=digit",
        "data.test_split={n: '0-4'}", "data.batch_size=8",
        "backbone.name=audio_vit_tiny", "backbone.sample_rate=8000", "backbone.dim=32",
        "backbone.depth=2", "backbone.heads=2", "backbone.n_mels=32", "backbone.patch_size=8",
        "optim.name=adamw", "optim.base_lr=0.001", "optim.warmup_epochs=0",
        "train.progress=false", "eval.knn_every_n_epochs=0",
    ]  # fmt: skip


def _tiny_run(root: Path, run_name: str, steps: int, method: list[str]) -> tuple[Path, Path]:
    data = fsdd_like(root / "clips", speakers=("ann", "bob"), takes=TAKES)
    cfg = load_config(None, [*_audio_overrides(data), *method, f"train.max_steps={steps}"])
    return pretrain(cfg, run_dir=root / run_name).run_dir, data


def tiny_audio_run(root: Path, steps: int = 2) -> tuple[Path, Path]:
    """(run directory, data folder) of a ``steps``-step SimCLR run on 8 kHz synthetic clips."""
    method = [
        "augment.name=audio_contrastive", "augment.sample_rate=8000", "augment.crop_seconds=0.2",
        "method.name=simclr", "method.proj_hidden_dim=32", "method.proj_out_dim=16",
    ]  # fmt: skip
    return _tiny_run(root, "run", steps, method)


def tiny_audio_mae_run(root: Path, steps: int = 2) -> tuple[Path, Path]:
    """(run directory, data folder) of a ``steps``-step Audio-MAE run on the same clips."""
    method = [
        "augment.name=none", "method.name=audio_mae", "method.decoder_dim=16",
        "method.decoder_depth=1", "method.decoder_heads=2",
    ]  # fmt: skip
    return _tiny_run(root, "mae-run", steps, method)
