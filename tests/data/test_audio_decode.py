"""Audio decoding: every sample format to one float32 scale, mono, resampled at the exact
ratio; unusable files refused with their reason, clipped and silent clips flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from selfsup.data.audio_decode import BadAudio, decode_audio_file, resample

from .audio_helpers import RATE, tone, write_audio

# (suffix, subtype, quantisation step): 8-bit through 32-bit integers and floats.
FORMATS = [
    (".wav", "PCM_U8", 2**-7),
    (".wav", "PCM_16", 2**-15),
    (".wav", "PCM_24", 2**-23),
    (".wav", "PCM_32", 2**-31),
    (".wav", "FLOAT", 1e-7),
    (".wav", "DOUBLE", 1e-7),
    (".flac", "PCM_S8", 2**-7),
    (".flac", "PCM_16", 2**-15),
    (".flac", "PCM_24", 2**-23),
]


def test_resampling_keeps_a_sines_frequency() -> None:
    x = tone(1.0, rate=44_100, freq=440.0)
    y = resample(x, 44_100, 8000)
    assert y.dtype == np.float32 and len(y) == 8000
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    bin_hz = 8000 / len(y)
    assert abs(np.argmax(spectrum) * bin_hz - 440.0) <= bin_hz


def test_a_file_at_another_rate_is_resampled_on_decode(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "a.wav", tone(0.5, rate=22_050, freq=1000.0), rate=22_050)
    clip = decode_audio_file(str(path), 16_000)
    assert clip.samples.dtype == np.float32 and len(clip.samples) == 8000
    spectrum = np.abs(np.fft.rfft(clip.samples))
    assert abs(np.argmax(spectrum) * 16_000 / len(clip.samples) - 1000.0) <= 2.0


@pytest.mark.parametrize(("suffix", "subtype", "step"), FORMATS)
def test_every_sample_format_decodes_to_the_same_float32(
    tmp_path: Path, suffix: str, subtype: str, step: float
) -> None:
    x = tone(0.25, amp=0.7)
    path = write_audio(tmp_path / f"a{suffix}", x, subtype=subtype)
    got = decode_audio_file(str(path), RATE).as_float32()
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, x, atol=step)


def test_16_bit_mono_at_the_rate_is_kept_as_exact_int16(tmp_path: Path) -> None:
    import soundfile as sf

    path = write_audio(tmp_path / "a.wav", tone(0.1))
    clip = decode_audio_file(str(path), RATE)
    assert clip.samples.dtype == np.int16
    reference, _ = sf.read(str(path), dtype="float32")
    np.testing.assert_array_equal(clip.as_float32(), reference)


def test_channels_are_averaged(tmp_path: Path) -> None:
    left, right = tone(0.1, amp=0.2), tone(0.1, amp=0.6, freq=700.0)
    path = write_audio(tmp_path / "st.wav", np.stack([left, right], 1), subtype="FLOAT")
    got = decode_audio_file(str(path), RATE).samples
    np.testing.assert_allclose(got, (left + right) / 2, atol=1e-7)


def test_ogg_vorbis_decodes(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "a.ogg", tone(0.5), subtype="VORBIS")
    got = decode_audio_file(str(path), RATE).samples
    assert got.dtype == np.float32 and abs(len(got) - 4000) < 100


def bad_files(root: Path) -> dict[str, Path]:
    """One file per reason a clip is refused."""
    good = write_audio(root / "good.wav", tone(0.1)).read_bytes()
    nan = tone(0.1)
    nan[5] = np.nan
    inf = tone(0.1)
    inf[7] = np.inf
    (root / "zero.wav").write_bytes(b"")
    (root / "text.wav").write_bytes(b"this is not a sound file at all " * 4)
    (root / "cut.wav").write_bytes(good[:30])
    return {
        "zero-byte": root / "zero.wav",
        "no samples": write_audio(root / "empty.wav", tone(0.0)),
        "not audio": root / "text.wav",
        "malformed": root / "cut.wav",
        "non-finite samples": write_audio(root / "nan.wav", nan, subtype="FLOAT"),
        "unreadable": root / "missing.wav",
    } | {"non-finite samples (inf)": write_audio(root / "inf.flac.wav", inf, subtype="DOUBLE")}


def test_unusable_files_are_refused_with_their_reason(tmp_path: Path) -> None:
    for reason, path in bad_files(tmp_path).items():
        with pytest.raises(BadAudio) as err:
            decode_audio_file(str(path), RATE)
        assert err.value.reason == reason.split(" (")[0], path


def test_clipped_and_silent_clips_are_flagged_not_refused(tmp_path: Path) -> None:
    loud = np.clip(tone(0.2, amp=3.0), -1, 1)
    clipped = decode_audio_file(str(write_audio(tmp_path / "loud.wav", loud)), RATE)
    assert clipped.clipped and not clipped.silent
    hot = decode_audio_file(str(write_audio(tmp_path / "hot.wav", 2 * loud, subtype="FLOAT")), RATE)
    assert hot.clipped  # float files may exceed full scale
    quiet = decode_audio_file(str(write_audio(tmp_path / "q.wav", tone(0.2, amp=1e-4))), RATE)
    assert quiet.silent and not quiet.clipped
    normal = decode_audio_file(str(write_audio(tmp_path / "n.wav", tone(0.2))), RATE)
    assert not normal.clipped and not normal.silent
