"""HuBERT: the loss reads masked frames' targets only (unless asked), labels are checked
against the encoder before training, and batches without fitting labels are one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from data.audio_helpers import RATE, fsdd_like
from selfsup.backbones import create_backbone
from selfsup.data.frame_labels import FrameLabelsError, write_frame_labels
from selfsup.data.sources import build_dataset
from selfsup.methods.audio.hubert import HuBERT
from selfsup.methods.base import Batch
from selfsup.methods.registry import check_backbone, create_method
from selfsup.registry import ConfigError
from tiny_methods import TINY_AUDIO, TINY_CLUSTERS, audio_batch


def tiny(**kwargs: object) -> HuBERT:
    torch.manual_seed(0)
    backbone = create_backbone("wav2vec2_tiny", **{**TINY_AUDIO, "dropout": 0.0})
    args = {"num_clusters": TINY_CLUSTERS, "final_dim": 32, **kwargs}
    method = create_method("hubert", backbone=backbone, **args)
    assert isinstance(method, HuBERT)
    return method


def loss_of(method: HuBERT, batch: Batch) -> torch.Tensor:
    return method.training_step(batch, torch.Generator().manual_seed(3))["loss"].detach()


def relabel(batch: Batch, where: torch.Tensor) -> Batch:
    labels = batch["frame_labels"].clone()
    labels[where] = (labels[where] + 1) % TINY_CLUSTERS
    return {**batch, "frame_labels": labels}


def masks_of(method: HuBERT, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    valid = method.backbone.valid_tokens(batch["input"])
    return valid, method.span_mask(valid, torch.Generator().manual_seed(3))


def test_loss_reads_the_targets_of_masked_frames_only() -> None:
    method = tiny()
    batch = audio_batch(method.backbone)
    valid, mask = masks_of(method, batch)
    assert bool(mask.any()) and bool((valid & ~mask).any())
    base = loss_of(method, batch)
    assert torch.equal(loss_of(method, relabel(batch, valid & ~mask)), base)
    assert not torch.allclose(loss_of(method, relabel(batch, mask)), base)


def test_an_unmasked_weight_makes_the_other_frames_count() -> None:
    method = tiny(unmasked_weight=0.5)
    batch = audio_batch(method.backbone)
    valid, mask = masks_of(method, batch)
    out = method.training_step(batch, torch.Generator().manual_seed(3))
    assert "unmasked_loss" in out
    assert not torch.allclose(loss_of(method, relabel(batch, valid & ~mask)), out["loss"].detach())


def test_batches_without_fitting_labels_are_one_line() -> None:
    method = tiny()
    batch = audio_batch(method.backbone)
    with pytest.raises(ConfigError, match=r"data\.frame_labels"):
        method.training_step({k: v for k, v in batch.items() if k != "frame_labels"})
    short = {**batch, "frame_labels": batch["frame_labels"][:, :10]}
    with pytest.raises(FrameLabelsError, match="fewer frames"):
        method.training_step(short)
    wide = {**batch, "frame_labels": batch["frame_labels"].clamp(min=0) + TINY_CLUSTERS}
    with pytest.raises(ConfigError, match="num_clusters"):
        method.training_step(wide)


def labels_file(tmp_path: Path, hop: int, k: int = TINY_CLUSTERS) -> tuple[Path, Path]:
    root = fsdd_like(tmp_path / "wav")
    ds = build_dataset("audio", "all", path=str(root), sample_rate=RATE)
    frames = [max((int(n) - 400) // hop + 1, 1) for n in ds.lengths]  # type: ignore[attr-defined]
    out = tmp_path / "labels.safetensors"
    labels = [torch.randint(0, k, (f,)) for f in frames]
    write_frame_labels(out, ds.clip_keys(), labels, k, "test", RATE / hop)  # type: ignore[attr-defined]
    return root, out


@pytest.mark.parametrize(
    ("hop", "k", "message"),
    [(80, TINY_CLUSTERS, "every 80 samples"), (160, 2 * TINY_CLUSTERS, "num_clusters")],
)
def test_labels_that_do_not_fit_the_encoder_fail_before_training(
    tmp_path: Path, hop: int, k: int, message: str
) -> None:
    root, labels = labels_file(tmp_path, hop, k)
    data = build_dataset("audio", "all", path=str(root), sample_rate=RATE, frame_labels=str(labels))
    with pytest.raises(FrameLabelsError, match=message) as err:
        tiny().check_train_data(data)
    assert "\n" not in str(err.value)


def test_fitting_labels_pass_the_check(tmp_path: Path) -> None:
    root, labels = labels_file(tmp_path, 160)
    data = build_dataset("audio", "all", path=str(root), sample_rate=RATE, frame_labels=str(labels))
    tiny().check_train_data(data)
    with pytest.raises(ConfigError, match=r"data\.frame_labels"):
        tiny().check_train_data(build_dataset("audio", "all", path=str(root), sample_rate=RATE))


def test_takes_frame_encoders() -> None:
    check_backbone("hubert", "wav2vec2_base")
    with pytest.raises(ConfigError, match="frames"):
        check_backbone("hubert", "audio_vit_tiny")
