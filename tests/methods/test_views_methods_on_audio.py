"""The views-based methods train unchanged on audio: NaN-padded waveform batches, the audio
view recipes and an audio backbone (a small test-only one here), with the modality check
letting them through and still refusing image-only methods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn

from method_helpers import train_steps
from selfsup.augment import create_augment
from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import BACKBONES
from selfsup.methods import Method, create_method, list_methods
from selfsup.methods.base import VIEW_MODALITIES, encode_by_shape, method_modalities
from selfsup.methods.registry import METHODS, backbone_misfit, check_backbone
from selfsup.nn.audio_padding import clip_lengths, frames_of, lengths_mask, pad_clips, zero_padding
from selfsup.registry import ConfigError

RATE = 8000
WINDOW, HOP = 64, 16


class TinyAudioBackbone(Backbone):
    """Test-only audio encoder: two 1-D convs over the zero-padded waveform, then the mean of
    the frames that lie wholly within each clip's real samples (padding never counts)."""

    modality = "audio"
    sample_rate = RATE

    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.feature_dim = dim
        self.conv = nn.Sequential(
            nn.Conv1d(1, dim, WINDOW, stride=HOP), nn.GELU(), nn.Conv1d(dim, dim, 1)
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x0, _ = zero_padding(x)
        if x0.shape[1] < WINDOW:  # at least one frame, even for a tiny batch
            x0 = nn.functional.pad(x0, (0, WINDOW - x0.shape[1]))
        frames = self.conv(x0[:, None, :])  # [B, D, N]
        valid = lengths_mask(frames_of(clip_lengths(x), WINDOW, HOP, center=False), frames.shape[2])
        weights = valid[:, None, :].to(frames.dtype)
        return (frames * weights).sum(-1) / weights.sum(-1)


def tiny_audio_backbone() -> TinyAudioBackbone:
    return TinyAudioBackbone()


@pytest.fixture
def audio_backbone() -> Iterator[str]:
    BACKBONES.register("tiny_audio_probe")(tiny_audio_backbone)
    yield "tiny_audio_probe"
    BACKBONES.unregister("tiny_audio_probe")


# The views methods: they take images or audio through their view recipe alone (audio-only
# methods and multi-tower ones have tests of their own).
AUDIO_METHODS = [n for n in list_methods() if method_modalities(METHODS.get(n)) == VIEW_MODALITIES]
# Small heads keep the steps quick; multi-crop where the method is built for it.
SMALL: dict[str, dict[str, Any]] = {
    "simclr": {"proj_hidden_dim": 64, "proj_out_dim": 32},
    "byol": {"proj_hidden_dim": 64, "proj_out_dim": 32, "pred_hidden_dim": 64},
    "moco": {"proj_hidden_dim": 64, "proj_out_dim": 32, "queue_size": 64},
    "moco_v3": {"proj_hidden_dim": 64, "proj_out_dim": 32, "pred_hidden_dim": 64},
    "simsiam": {"proj_hidden_dim": 64, "proj_out_dim": 32, "pred_hidden_dim": 16},
    "vicreg": {"proj_hidden_dim": 64, "proj_out_dim": 32},
    "barlow_twins": {"proj_hidden_dim": 64, "proj_out_dim": 32},
    "nnclr": {"proj_hidden_dim": 64, "proj_out_dim": 32, "pred_hidden_dim": 64, "queue_size": 64},
    "swav": {"proj_hidden_dim": 64, "proj_out_dim": 32, "num_prototypes": 16},
    "dino": {"out_dim": 64, "hidden_dim": 64, "bottleneck_dim": 16},
}
MULTICROP = {"dino", "swav"}


def audio_batch() -> dict[str, torch.Tensor]:
    """8 noisy tones of 0.3-1.5 s at 8 kHz, NaN-padded as an audio source collates them."""
    gen = torch.Generator().manual_seed(0)
    lengths = [12000, 8000, 2400, 6000, 10000, 4000, 8000, 5000]
    clips = []
    for i, n in enumerate(lengths):
        t = torch.arange(n) / RATE
        clips.append(
            torch.sin(2 * torch.pi * (200 + 150 * i) * t) + 0.1 * torch.randn(n, generator=gen)
        )
    x = pad_clips(clips)
    return {"input": x, "label": torch.full((8,), -1), "length": clip_lengths(x)}


def build(name: str, multicrop: bool) -> Method:
    torch.manual_seed(0)
    if multicrop:
        augment = create_augment(
            "audio_multicrop", sample_rate=RATE, crop_seconds=0.75, local_seconds=0.25, num_local=2
        )
    else:
        augment = create_augment("audio_contrastive", sample_rate=RATE, crop_seconds=0.75)
    return create_method(name, backbone=TinyAudioBackbone(), augment=augment, **SMALL[name])


def test_the_views_methods_declare_audio() -> None:
    assert {"simclr", "byol", "dino", "moco", "moco_v3", "simsiam", "vicreg"} <= set(AUDIO_METHODS)
    assert {"barlow_twins", "nnclr", "swav"} <= set(AUDIO_METHODS)
    for image_only in ("mae", "data2vec", "beit", "dinov2", "vq_tokenizer"):
        assert method_modalities(METHODS.get(image_only)) == ("image",)
    assert method_modalities(METHODS.get("gpt")) == ("text",)  # a plain string still works


@pytest.mark.parametrize(
    ("name", "multicrop"),
    [(n, n in MULTICROP) for n in AUDIO_METHODS] + [("simclr", True)],
)
def test_views_method_trains_on_padded_audio(name: str, multicrop: bool) -> None:
    assert name in SMALL, f"'{name}' declares audio: give it small test settings here"
    method = build(name, multicrop)
    batch = audio_batch()
    before = {k: v.clone() for k, v in method.backbone.state_dict().items()}
    out = train_steps(method, batch, torch.optim.SGD(method.parameters(), lr=0.05, momentum=0.9))
    after = method.backbone.state_dict()
    assert any(not torch.equal(after[k], before[k]) for k in after)
    assert out["embedding"].shape == (8, 16) and torch.isfinite(out["embedding"]).all()
    features = method.embed(batch["input"])  # whole clips, padding and all
    assert features.shape == (8, 16) and torch.isfinite(features).all()


def test_padding_never_changes_a_clips_embedding() -> None:
    method = build("simclr", False).eval()
    batch = audio_batch()["input"]
    alone = method.embed(batch[2:3, :2400])
    assert torch.allclose(method.embed(batch)[2:3], alone, atol=1e-5)


def test_modality_check_takes_audio_backbones_for_views_methods_only(audio_backbone: str) -> None:
    for name in AUDIO_METHODS:
        assert backbone_misfit(name, audio_backbone) is None, name
        assert backbone_misfit(name, "resnet_tiny") is None, name
    why = backbone_misfit("mae", audio_backbone)
    assert why is not None and "works on image but backbone 'tiny_audio_probe' encodes audio" in why
    with pytest.raises(ConfigError, match="works on text but backbone 'resnet_tiny' encodes image"):
        check_backbone("gpt", "resnet_tiny")
    with pytest.raises(
        ConfigError, match="works on image or audio but backbone 'text_encoder_tiny'"
    ):
        check_backbone("simclr", "text_encoder_tiny")


def test_audio_crops_of_one_duration_share_a_backbone_pass() -> None:
    views = create_augment("audio_multicrop", sample_rate=RATE, local_seconds=0.25, num_local=3)
    calls: list[tuple[int, ...]] = []

    def encode(x: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(x.shape))
        return x.nan_to_num().mean(dim=1, keepdim=True)

    out = encode_by_shape(encode, views(audio_batch()["input"], torch.Generator().manual_seed(0)))
    assert calls == [(16, RATE), (24, 2000)] and out.shape == (40, 1)
