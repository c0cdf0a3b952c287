"""wav2vec 2.0: codebook use grows, the Gumbel temperature follows its schedule through the
method, per-utterance losses, the schedulable mask probability, and the backbones it takes."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.backbones import create_backbone
from selfsup.methods.audio.wav2vec2 import TINY_ARGS, Wav2Vec2
from selfsup.methods.registry import check_backbone, create_method
from selfsup.registry import ConfigError
from tiny_methods import TINY_AUDIO, audio_batch


def tiny(**kwargs: object) -> Wav2Vec2:
    torch.manual_seed(0)
    backbone = create_backbone("wav2vec2_tiny", **TINY_AUDIO)
    method = create_method("wav2vec2", backbone=backbone, **{**TINY_ARGS, **kwargs})
    assert isinstance(method, Wav2Vec2)
    return method


def test_codebook_perplexity_rises_and_temperature_follows_its_schedule() -> None:
    method = tiny(temperature=(2.0, 0.5, 0.8))
    batch = audio_batch(method.backbone)
    opt = torch.optim.Adam(method.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    perplexities, temperatures = [], []
    for step in range(12):
        out = method.training_step(batch, gen)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        method.on_step_end(step + 1, 12)
        perplexities.append(float(out["prob_perplexity"]))
        temperatures.append(float(out["gumbel_temperature"]))
    # Step s ran after s optimizer steps: 2 * 0.8 ** s, floored at 0.5.
    assert temperatures == pytest.approx([max(2.0 * 0.8**s, 0.5) for s in range(12)])
    assert float(out["code_perplexity"]) > 1.0
    # The diversity term spreads the softmax over more codewords than at the start.
    assert perplexities[-1] > perplexities[0] > 1.0
    assert method.quantizer.temperature == pytest.approx(0.5)


def test_sample_loss_is_per_utterance_and_averages_to_the_loss() -> None:
    method = tiny()
    out = method.training_step(audio_batch(method.backbone), torch.Generator().manual_seed(1))
    assert out["sample_loss"].shape == (8,) and out["sample_loss"].requires_grad
    assert torch.allclose(out["sample_loss"].mean(), out["loss"])
    assert out["embedding"].shape == (8, TINY_AUDIO["dim"])
    assert math.isfinite(float(out["loss"].detach()))


def test_mask_start_prob_is_read_every_step() -> None:
    method = tiny()
    batch = audio_batch(method.backbone)
    low = method.training_step(batch, torch.Generator().manual_seed(2))["masked_fraction"]
    method.mask_start_prob = 0.3  # what a curriculum does between steps
    high = method.training_step(batch, torch.Generator().manual_seed(2))["masked_fraction"]
    assert 0.2 < float(low) < 0.8 < float(high)
    assert "mask_start_prob" in Wav2Vec2.schedulable


def test_takes_wav2vec2_backbones_only() -> None:
    check_backbone("wav2vec2", "wav2vec2_base")
    with pytest.raises(ConfigError, match="local_features"):
        check_backbone("wav2vec2", "audio_vit_tiny")
    with pytest.raises(ConfigError, match="wav2vec2_"):
        create_method("wav2vec2", backbone=create_backbone("resnet_tiny"))
