"""Each audio view operation does exactly what its drawn parameters say: gain in dB, noise at
the drawn SNR, removed frequency bands, zeroed time spans, time shifts."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.augment import AudioViews, AudioViewSpec
from selfsup.augment.audio_params import AudioViewParams
from selfsup.nn.audio_padding import clip_lengths, pad_clips

RATE = 8000


def sines(lengths: list[int], seed: int = 0) -> torch.Tensor:
    """Sums of three random sines per clip (never exactly 0), NaN-padded."""
    gen = torch.Generator().manual_seed(seed)
    clips = []
    for n in lengths:
        t = torch.arange(n, dtype=torch.float64) / RATE
        f = 100 + 3000 * torch.rand(3, generator=gen, dtype=torch.float64)
        clip = sum(torch.sin(2 * math.pi * fi * t + 1.0) for fi in f) + 3.5
        clips.append(clip.float())
    return pad_clips(clips)


def view_of(
    spec: AudioViewSpec, x: torch.Tensor, seed: int = 0
) -> tuple[torch.Tensor, AudioViewParams]:
    views = AudioViews([spec])
    (p,) = views.sample_params(clip_lengths(x), x.shape[1], torch.Generator().manual_seed(seed))
    (v,) = views.render(x, [p])
    return v, p


def test_gain_is_exact_in_db() -> None:
    x = sines([4000] * 32)
    v, p = view_of(AudioViewSpec(sample_rate=RATE, gain_p=1.0, gain_db=(-12.0, 12.0)), x)
    measured = 20 * torch.log10(v.double() / x.double())
    assert torch.allclose(measured, p.gain_db.double()[:, None].expand_as(measured), atol=1e-4)
    assert float(p.gain_db.max() - p.gain_db.min()) > 12  # spread over the range


def test_gain_probability_leaves_some_clips_alone() -> None:
    x = sines([1000] * 64)
    v, p = view_of(AudioViewSpec(sample_rate=RATE, gain_p=0.5), x)
    untouched = (p.gain_db == 0).all() or torch.equal(v[p.gain_db == 0], x[p.gain_db == 0])
    assert untouched and 10 < int((p.gain_db == 0).sum()) < 54


@pytest.mark.parametrize("exponent", [(0.0, 0.0), (1.0, 2.0)])
def test_noise_lands_at_the_drawn_snr_of_each_clip(exponent: tuple[float, float]) -> None:
    x = sines([16000, 12000, 16000, 9000] * 4)  # long clips, some padded
    spec = AudioViewSpec(sample_rate=RATE, noise_p=1.0, snr_db=(0.0, 30.0), noise_exponent=exponent)
    v, p = view_of(spec, x)
    real = ~torch.isnan(x)
    signal = torch.where(real, x, 0).double()
    noise = torch.where(real, v - x, 0).double()
    snr = 10 * torch.log10(signal.square().sum(1) / noise.square().sum(1))
    assert (snr - p.snr_db.double()).abs().max() < 0.5
    assert float(p.snr_db.max() - p.snr_db.min()) > 15


def test_coloured_noise_has_more_low_than_high_frequency_power() -> None:
    x = torch.zeros(8, 8000) + 1.0  # constant clips: all added power is noise's
    spec = AudioViewSpec(sample_rate=RATE, noise_p=1.0, noise_exponent=(2.0, 2.0))
    v, _ = view_of(spec, x)
    power = torch.fft.rfft(v - x, dim=1).abs().square().mean(0)
    assert float(power[1:200].mean()) > 100 * float(power[2000:].mean())


@pytest.mark.parametrize("scale", ["hz", "mel"])
def test_a_removed_band_is_empty_and_other_bands_are_unchanged(scale: str) -> None:
    lengths = [8000, 6000, 8000, 5003, 8000, 7000]
    x = sines(lengths)
    width = 500.0 if scale == "hz" else 300.0
    spec = AudioViewSpec(
        sample_rate=RATE, freq_masks=2, freq_mask_width=width, freq_mask_scale=scale
    )  # type: ignore[arg-type]
    v, p = view_of(spec, x, seed=1)
    assert torch.equal(torch.isnan(v), torch.isnan(x))
    removed_any = 0
    for b, n in enumerate(lengths):
        before = torch.fft.rfft(x[b, :n].double())
        after = torch.fft.rfft(v[b, :n].double())
        freqs = torch.arange(before.shape[0]) * RATE / n
        lo, hi = p.freq_lo[b, :, None].double(), p.freq_hi[b, :, None].double()
        band = ((freqs >= lo) & (freqs < hi)).any(0)
        removed_any += int(band.sum())
        scale_ = float(before.abs().max())
        assert float(after[band].abs().sum()) < 1e-4 * scale_
        assert torch.allclose(after[~band], before[~band], atol=1e-3 * scale_)
    assert removed_any > 0


def test_mel_bands_are_wider_in_hz_at_high_frequencies() -> None:
    views = AudioViews(
        [
            AudioViewSpec(
                sample_rate=RATE, freq_masks=1, freq_mask_width=200.0, freq_mask_scale="mel"
            )
        ]
    )
    (p,) = views.sample_params(torch.full((4000,), 8000), 8000, torch.Generator().manual_seed(0))
    on = p.freq_hi[:, 0] > p.freq_lo[:, 0]
    lo, width = p.freq_lo[on, 0], (p.freq_hi - p.freq_lo)[on, 0]
    assert float(p.freq_hi.max()) <= RATE / 2 + 1e-3 and float(p.freq_lo.min()) >= 0
    assert float(width[lo > 2500].mean()) > 2 * float(width[lo < 500].mean())


def test_time_masks_zero_exactly_the_drawn_spans() -> None:
    lengths = [8000, 4000, 8000, 2000] * 4
    x = sines(lengths)
    spec = AudioViewSpec(sample_rate=RATE, time_masks=3, time_mask_ms=100.0)
    v, p = view_of(spec, x)
    t = torch.arange(x.shape[1])
    drawn = ((t >= p.time_start[..., None]) & (t < (p.time_start + p.time_width)[..., None])).any(1)
    assert torch.equal(v == 0, drawn)  # the clips hold no zeros of their own
    assert torch.allclose(v[~drawn], x[~drawn], rtol=0, atol=0, equal_nan=True)
    assert ((p.time_start + p.time_width) <= torch.tensor(lengths)[:, None]).all()
    assert int(p.time_width.max()) <= 800 and bool((p.time_width == 0).any())


@pytest.mark.parametrize("mode", ["circular", "zero"])
def test_time_shift_moves_real_samples_only(mode: str) -> None:
    lengths = [8000, 3000, 5000, 8000] * 4
    x = pad_clips([torch.arange(1, n + 1, dtype=torch.float32) for n in lengths])
    spec = AudioViewSpec(sample_rate=RATE, shift_p=1.0, shift_seconds=0.2, shift_mode=mode)  # type: ignore[arg-type]
    v, p = view_of(spec, x)
    assert int(p.shift.abs().max()) <= 1600 and len(set(p.shift.tolist())) > 8
    for b, (n, s) in enumerate(zip(lengths, p.shift.tolist(), strict=True)):
        clip = x[b, :n]
        if mode == "circular":
            expected = torch.roll(clip, s)
        else:
            expected = torch.zeros(n)
            if s >= 0:
                expected[s:] = clip[: n - s]
            else:
                expected[: n + s] = clip[-s:]
        assert torch.equal(v[b, :n], expected), (b, s)
        assert torch.isnan(v[b, n:]).all()
