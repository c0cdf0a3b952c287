"""MFCC statistics: a fixed vector per clip that ignores padding and separates tones."""

from __future__ import annotations

import torch

from selfsup.eval.audio_baselines import MFCCStats, delta
from selfsup.eval.features import Features
from selfsup.eval.linear import linear_probe
from selfsup.nn.audio_padding import pad_clips

RATE = 8000


def tones(n: int, seed: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Clips of a low (300 Hz) or high (1200 Hz) tone with random level, length and noise."""
    gen = torch.Generator().manual_seed(seed)
    clips, labels = [], torch.arange(n) % 2
    for label in labels.tolist():
        length = int(torch.randint(1200, 4000, (1,), generator=gen))
        t = torch.arange(length) / RATE
        amp = 0.05 + 0.5 * float(torch.rand(1, generator=gen))
        tone = amp * torch.sin(2 * torch.pi * (300.0 if label == 0 else 1200.0) * t)
        clips.append(tone + 0.01 * torch.randn(length, generator=gen))
    return clips, labels


def test_mfcc_statistics_separate_two_tone_classes() -> None:
    mfcc = MFCCStats(RATE)
    (tr_x, tr_y), (te_x, te_y) = tones(40, 0), tones(40, 1)
    train = Features(mfcc(pad_clips(tr_x)), tr_y)
    test = Features(mfcc(pad_clips(te_x)), te_y)
    assert train.dim == 2 * 20 * 3  # mean and std of MFCC, deltas, delta-deltas
    assert linear_probe(train, test, epochs=50).test_accuracy >= 0.95


def test_padding_never_changes_a_clips_statistics() -> None:
    mfcc = MFCCStats(RATE)
    clips, _ = tones(3, 2)
    together = mfcc(pad_clips(clips, 5000))
    for i, clip in enumerate(clips):
        torch.testing.assert_close(together[i], mfcc(clip[None])[0], atol=1e-4, rtol=1e-4)


def test_delta_of_a_ramp_is_its_slope_away_from_the_edges() -> None:
    ramp = torch.arange(10.0).repeat(2, 1, 1)  # [B=2, C=1, F=10], slope 1
    frames = torch.tensor([10, 6])  # the second clip's real frames end at 6
    d = delta(ramp, frames)
    torch.testing.assert_close(d[0, 0, 2:8], torch.ones(6))
    torch.testing.assert_close(d[1, 0, 2:4], torch.ones(2))
    assert d[1, 0, 5] < 1  # its edge repeats the last real frame, not the padding after it
