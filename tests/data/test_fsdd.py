"""The real Free Spoken Digit Dataset (skipped when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
import torch

from selfsup.data.audio import AudioClips
from selfsup.data.sources import build_dataset

from .audio_helpers import FSDD_PATTERN

FSDD = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "fsdd" / "recordings"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not FSDD.is_dir(), reason=f"{FSDD} is absent"),
]

KEYS = {
    "path": str(FSDD),
    "sample_rate": 8000,
    "label_pattern": FSDD_PATTERN,
    "test_split": {"n": "0-4"},
}


def load(split: str, label: str) -> AudioClips:
    ds = build_dataset("audio", split, **KEYS, label=label)
    assert isinstance(ds, AudioClips)
    return ds


def test_digits_and_speakers_with_the_standard_test_split() -> None:
    every = load("all", "digit")
    assert len(every) == 3000 and every.classes == [str(d) for d in range(10)]
    assert every.labels.bincount().tolist() == [300] * 10
    assert every.samples.dtype == torch.int16  # 16-bit mono at 8 kHz: cached exactly
    test = load("val", "speaker")
    assert test.classes == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    assert len(test) == 300 and test.labels.bincount().tolist() == [50] * 6
    assert len(load("train", "digit")) == 2700


def test_clips_match_soundfile_and_are_whole_in_evaluation() -> None:
    test = load("val", "digit")
    first = test.paths[0]
    reference, rate = sf.read(first, dtype="float32")
    assert rate == 8000
    assert torch.equal(test[0]["input"], torch.from_numpy(reference))
