"""Frame labels on an audio source: items carry the labels of the frames their crop covers,
collate pads them with -1, and a file that does not fit the clips is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from selfsup.data.audio import AudioClips
from selfsup.data.frame_labels import FrameLabelsError, write_frame_labels
from selfsup.data.sources import build_dataset
from selfsup.modalities import get_modality

from .audio_helpers import RATE, fsdd_like, tone, write_audio

HOP = 160  # 20 ms at 8 kHz
FIELD = 400  # the wav2vec2 encoder's receptive field


def frames_of(samples: int) -> int:
    return (max(samples, FIELD) - FIELD) // HOP + 1


def labelled_folder(tmp_path: Path, rate: float = RATE / HOP, scale: int = 1) -> tuple[Path, Path]:
    """An FSDD-like folder and a label file whose label of frame j is j (so a window shows
    where it starts); ``scale`` multiplies the frame counts (labels of other audio)."""
    root = fsdd_like(tmp_path / "wav")
    whole = build_dataset("audio", "all", path=str(root), sample_rate=RATE)
    assert isinstance(whole, AudioClips)
    keys = whole.clip_keys()
    labels = [torch.arange(frames_of(int(n)) * scale) for n in whole.lengths]
    out = tmp_path / "labels.safetensors"
    write_frame_labels(out, keys, labels, 1000, "frame index", rate)
    return root, out


def test_crops_start_on_frames_and_carry_their_frames_labels(tmp_path: Path) -> None:
    root, labels = labelled_folder(tmp_path)
    ds = build_dataset(
        "audio",
        "train",
        path=str(root),
        sample_rate=RATE,
        max_seconds=0.1,
        frame_labels=str(labels),
    )
    assert isinstance(ds, AudioClips)
    offsets = set()
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            whole = ds.clip(i)
            start = ds.crop_start(i, len(whole))
            assert start % HOP == 0
            offsets.add(start)
            assert torch.equal(item["input"], whole[start : start + 800])
            got = item["frame_labels"]
            # Frame j of the crop is frame start / hop + j of the clip: label start / hop + j.
            first = start // HOP
            assert torch.equal(got[: frames_of(800)], torch.arange(first, first + frames_of(800)))
    assert len(offsets) > 3  # the crops really moved


def test_whole_clips_get_all_their_labels_and_collate_pads_with_minus_one(tmp_path: Path) -> None:
    root, labels = labelled_folder(tmp_path)
    ds = build_dataset("audio", "all", path=str(root), sample_rate=RATE, frame_labels=str(labels))
    items = [ds[0], ds[5]]
    assert [len(it["frame_labels"]) for it in items] == [
        frames_of(len(it["input"])) for it in items
    ]
    batch = get_modality("audio").collate(items)
    width = max(len(it["frame_labels"]) for it in items)
    assert batch["frame_labels"].shape == (2, width)
    short = int(batch["frame_labels"][0].ne(-1).sum())
    assert short == len(items[0]["frame_labels"]) < width
    assert bool((batch["frame_labels"][0, short:] == -1).all())


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("rate", "do not fit 8000 Hz"),
        ("other audio", "frame labels for"),
        ("missing clips", "no labels for"),
    ],
)
def test_a_file_that_does_not_fit_the_clips_is_one_line(
    tmp_path: Path, kind: str, message: str
) -> None:
    if kind == "rate":
        root, labels = labelled_folder(tmp_path, rate=33.0)
    elif kind == "other audio":
        root, labels = labelled_folder(tmp_path, scale=2)
    else:
        root, labels = labelled_folder(tmp_path)
        write_audio(root / "9_zed_0.wav", tone(0.2))
    with pytest.raises(FrameLabelsError, match=message) as err:
        build_dataset("audio", "all", path=str(root), sample_rate=RATE, frame_labels=str(labels))
    assert "\n" not in str(err.value)


def test_a_file_that_is_not_frame_labels_fails_before_decoding(tmp_path: Path) -> None:
    root = fsdd_like(tmp_path / "wav")
    bogus = tmp_path / "labels.safetensors"
    bogus.write_bytes(b"not safetensors")
    with pytest.raises(FrameLabelsError, match="not a selfsup frame-label file"):
        build_dataset("audio", "all", path=str(root), sample_rate=RATE, frame_labels=str(bogus))
