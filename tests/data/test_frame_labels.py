"""HuBERT frame-label files: round trip, header, frame-count checks, refusal of bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from selfsup import __version__
from selfsup.data.frame_labels import (
    FORMAT,
    FrameLabelsError,
    read_frame_labels,
    write_frame_labels,
)

CLIPS = ["0_jackson_0.wav", "1_nicolas_3.wav", "empty.wav"]


def labels() -> list[torch.Tensor]:
    return [torch.tensor([3, 3, 7, 99]), torch.tensor([0, 1]), torch.zeros(0, dtype=torch.long)]


def write(path: Path, k: int = 100) -> None:
    write_frame_labels(path, CLIPS, labels(), num_clusters=k, features="mfcc39", frame_rate=100)


def test_round_trip_keeps_labels_and_header(tmp_path: Path) -> None:
    path = tmp_path / "targets" / "km100.safetensors"
    write(path)
    got = read_frame_labels(path)
    assert got.clips == tuple(CLIPS) and len(got) == 3
    assert (got.num_clusters, got.features, got.frame_rate) == (100, "mfcc39", 100.0)
    assert got.selfsup_version == __version__
    for i, (key, want) in enumerate(zip(CLIPS, labels(), strict=True)):
        assert torch.equal(got.for_clip(key), want) and torch.equal(got.for_clip(i), want)
        assert got.for_clip(key).dtype == torch.int64
    assert [p.name for p in path.parent.iterdir()] == ["km100.safetensors"]  # no temp left


def test_frame_count_mismatch_is_one_line_or_within_tolerance(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write(path)
    got = read_frame_labels(path)
    with pytest.raises(FrameLabelsError, match=r"has 4 frame labels but the encoder gives 6"):
        got.for_clip("0_jackson_0.wav", frames=6)
    assert torch.equal(
        got.for_clip("0_jackson_0.wav", frames=5, tolerance=1), torch.tensor([3, 3, 7, 99, 99])
    )
    assert torch.equal(
        got.for_clip("0_jackson_0.wav", frames=3, tolerance=1), torch.tensor([3, 3, 7])
    )
    with pytest.raises(FrameLabelsError, match=r"no labels for clip 'other\.wav'"):
        got.for_clip("other.wav")


def test_large_k_is_stored_wider(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_frame_labels(path, ["a"], [torch.tensor([0, 40000])], 50000, "layer 6", 50)
    assert torch.equal(read_frame_labels(path).for_clip("a"), torch.tensor([0, 40000]))


def test_writer_refuses_inconsistent_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\[0, 50\)"):
        write(tmp_path / "t.safetensors", k=50)  # label 99
    with pytest.raises(ValueError, match="unique"):
        write_frame_labels(tmp_path / "t", ["a", "a"], labels()[:2], 100, "x", 50)
    assert not list(tmp_path.iterdir())


def crafted(path: Path, header: object, labels: torch.Tensor, offsets: torch.Tensor) -> None:
    meta = {"selfsup_frame_labels": json.dumps(header)}
    save_file({"labels": labels, "offsets": offsets}, str(path), metadata=meta)


def good_header() -> dict[str, object]:
    return {
        "format": FORMAT,
        "num_clusters": 10,
        "features": "x",
        "frame_rate": 50.0,
        "clips": ["a", "b"],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other"}, "format"),
        ({"num_clusters": 0}, "num_clusters"),
        ({"clips": ["a", "a"]}, "repeat"),
        ({"clips": ["a"]}, "offsets is not"),
        ({"num_clusters": 3}, "outside"),
    ],
)
def test_reader_refuses_inconsistent_files(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    path = tmp_path / "t.safetensors"
    crafted(
        path,
        {**good_header(), **change},
        torch.tensor([1, 2, 5], dtype=torch.int16),
        torch.tensor([0, 2, 3]),
    )
    with pytest.raises(FrameLabelsError, match=message) as err:
        read_frame_labels(path)
    assert "\n" not in str(err.value)


def test_reader_refuses_offsets_that_do_not_split_the_labels(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    crafted(
        path, good_header(), torch.tensor([1, 2, 5], dtype=torch.int16), torch.tensor([0, 4, 3])
    )
    with pytest.raises(FrameLabelsError, match="do not split"):
        read_frame_labels(path)


def test_reader_refuses_other_files_in_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(FrameLabelsError, match="not a selfsup frame-label file"):
        read_frame_labels(junk)
    with pytest.raises(FrameLabelsError, match="no such"):
        read_frame_labels(tmp_path / "missing.safetensors")
