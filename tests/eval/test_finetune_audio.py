"""Fine-tuning on NaN-padded clips: the view crops real samples, and the head only ever sees
features pooled over a clip's real frames (however long the clips it is batched with)."""

from __future__ import annotations

from pathlib import Path

import torch

from data.audio_helpers import fsdd_like
from selfsup.backbones import create_backbone
from selfsup.data.eval_audio import audio_dataset_from_spec
from selfsup.eval.finetune import FinetuneConfig, accuracy, finetune_model, load_images
from selfsup.modalities import get_modality
from selfsup.nn.audio_padding import clip_lengths


def test_finetune_on_a_tiny_audio_folder_feeds_the_head_real_frames_only(tmp_path: Path) -> None:
    root = fsdd_like(tmp_path / "clips", speakers=("ann", "bob"), takes=10)
    collate = get_modality("audio").collate
    train = load_images(
        audio_dataset_from_spec(f"{root}:digit@train", 8000, 0.1), collate_fn=collate
    )
    test = load_images(audio_dataset_from_spec(f"{root}:digit@test", 8000, 0.1), collate_fn=collate)
    assert train[0].shape[0] == 30 and torch.isnan(train[0]).any()  # one padding for all clips
    torch.manual_seed(0)
    encoder = create_backbone(
        "audio_vit_tiny", sample_rate=8000, dim=32, depth=2, heads=2, n_mels=32, patch_size=8
    )
    cfg = FinetuneConfig(epochs=2, batch_size=8, val_fraction=0.2, num_threads=1)
    result, model = finetune_model(encoder, lambda x: x, train, test, cfg)
    assert result.epochs_run == 2 and 0.0 <= result.test_accuracy_best <= 1.0

    seen: list[torch.Tensor] = []
    model.head.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    x, y = test
    accuracy(model, lambda v: v, x, y, torch.device("cpu"), batch_size=7)
    heard = torch.cat(seen)
    with torch.no_grad():
        for i in range(len(x)):
            clip = x[i : i + 1, : int(clip_lengths(x[i : i + 1]))]  # the clip alone, no padding
            alone = model.encoder.forward_features(clip)[0]
            torch.testing.assert_close(heard[i], alone, atol=1e-5, rtol=1e-4)
