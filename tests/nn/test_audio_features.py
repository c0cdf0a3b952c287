import math

import numpy as np
import pytest
import torch

from selfsup.nn.audio_features import (
    MFCC,
    LogMel,
    dct_ii_ortho,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
)
from selfsup.nn.audio_padding import pad_clips


def _chirp(seconds: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A rising tone plus a little noise: energy in many bands, no silent frames."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = np.sin(2 * np.pi * (200 + 1500 * t) * t)
    return tone + 0.05 * np.random.default_rng(seed).standard_normal(t.shape)


@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_mel_scale_round_trips(scale):
    hz = torch.tensor([0.0, 100.0, 999.0, 1000.0, 1001.0, 4000.0, 8000.0], dtype=torch.float64)
    assert torch.allclose(mel_to_hz(hz_to_mel(hz, scale), scale), hz, atol=1e-9)


@pytest.mark.filterwarnings("ignore:Empty filters")  # 128 bands on 201 bins: some are empty
@pytest.mark.parametrize("scale", ["htk", "slaney"])
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize(("sr", "n_fft", "n_mels", "f_min", "f_max"), [
    (16000, 400, 128, 0.0, None),
    (8000, 256, 64, 20.0, 4000.0),
    (22050, 2048, 40, 0.0, 8000.0),
])  # fmt: skip
def test_filterbank_matches_librosa(scale, norm, sr, n_fft, n_mels, f_min, f_max):
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(sr, n_fft, n_mels, f_min, f_max, scale=scale, norm=norm)
    ref = librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max, htk=scale == "htk",
        norm=norm, dtype=np.float64,
    )  # fmt: skip
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-4 * np.abs(ref).max(), rtol=0)
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-7, rtol=1e-6)


def test_slaney_norm_gives_every_band_the_same_area_in_hz():
    fb = mel_filterbank(16000, 4096, 40, scale="slaney", norm="slaney")
    areas = fb.sum(dim=1) * (8000 / (4096 // 2))
    assert torch.allclose(areas, torch.ones_like(areas), atol=0.02)


@pytest.mark.parametrize(("sr", "n_fft", "hop", "n_mels", "scale"), [
    (8000, 256, 80, 64, "slaney"),
    (16000, 400, 160, 40, "htk"),
])  # fmt: skip
def test_mfcc_matches_librosa(sr, n_fft, hop, n_mels, scale):
    librosa = pytest.importorskip("librosa")
    y = _chirp(0.7, sr)
    ours, frames = MFCC(sr, n_mfcc=20, n_mels=n_mels, n_fft=n_fft, hop_length=hop, scale=scale)(
        torch.from_numpy(y)[None]
    )
    ref = librosa.feature.mfcc(
        y=y, sr=sr, n_mfcc=20, n_fft=n_fft, hop_length=hop, n_mels=n_mels, htk=scale == "htk"
    )
    assert ours.shape[1:] == ref.shape and frames.item() == ref.shape[1]
    np.testing.assert_allclose(ours[0].numpy(), ref, atol=1e-4, rtol=0)


def test_mfcc_top_db_is_taken_per_clip_as_librosa_takes_it_for_one_clip():
    librosa = pytest.importorskip("librosa")
    sr = 8000
    loud, quiet = _chirp(0.5, sr, seed=1), 1e-3 * _chirp(0.3, sr, seed=2)
    quiet[:800] = 0.0  # digital silence: clipped at this clip's peak - 80 dB, not the batch's
    batch = pad_clips([torch.from_numpy(loud), torch.from_numpy(quiet)]).double()
    ours, frames = MFCC(sr, n_mels=40, n_fft=256, hop_length=80)(batch)
    for row, clip in enumerate([loud, quiet]):
        ref = librosa.feature.mfcc(y=clip, sr=sr, n_mfcc=20, n_fft=256, hop_length=80, n_mels=40)
        assert frames[row].item() == ref.shape[1]
        np.testing.assert_allclose(ours[row, :, : ref.shape[1]].numpy(), ref, atol=1e-4, rtol=0)
        assert ours[row, :, ref.shape[1] :].eq(0).all()


def test_log_mel_matches_librosa_power_to_db():
    librosa = pytest.importorskip("librosa")
    sr = 16000
    y = _chirp(0.4, sr)
    ours, _ = LogMel(sr, n_mels=64, n_fft=512, hop_length=160, scale="slaney", norm="slaney")(
        torch.from_numpy(y)[None]
    )
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=512, hop_length=160, n_mels=64)
    np.testing.assert_allclose(ours[0].numpy(), librosa.power_to_db(mel), atol=1e-4, rtol=0)


def test_dct_is_orthonormal():
    basis = dct_ii_ortho(32, 32)
    assert torch.allclose(basis @ basis.T, torch.eye(32, dtype=basis.dtype), atol=1e-12)


def test_padding_never_changes_a_clips_frames():
    torch.manual_seed(0)
    short, long = torch.randn(1234), torch.randn(4000)
    logmel = LogMel(8000, n_mels=32)
    alone, alone_frames = logmel(short[None])
    batched, frames = logmel(pad_clips([short, long]))
    n = int(alone_frames.item())
    assert frames.tolist() == [1234 // logmel.hop_length + 1, 4000 // logmel.hop_length + 1]
    assert alone.shape[-1] == n == frames[0].item()
    assert torch.allclose(batched[0, :, :n], alone[0], atol=1e-4)
    assert batched[0, :, n:].eq(logmel.pad_value).all()
    assert not torch.isnan(batched).any()


def test_defaults_are_25_ms_windows_every_10_ms():
    for sr in (8000, 16000):
        logmel = LogMel(sr)
        assert math.isclose(logmel.n_fft / sr, 0.025) and math.isclose(logmel.hop_length / sr, 0.01)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="f_max"):
        mel_filterbank(8000, 256, 40, f_max=6000.0)
    with pytest.raises(ValueError, match="scale"):
        mel_filterbank(8000, 256, 40, scale="bark")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_mfcc"):
        MFCC(8000, n_mfcc=80, n_mels=40)
