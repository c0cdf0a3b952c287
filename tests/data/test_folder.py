"""Image folders: labels from subfolders, splits, caching, and skipping of broken files."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from selfsup.data.collate import collate
from selfsup.data.folder_scan import scan_image_folder, split_indices
from selfsup.data.images import LazyImageDataset, load_image_folder
from selfsup.data.tensor_dataset import ImageTensorDataset
from selfsup.modalities import get_modality

from .helpers import solid_png, truncated_jpeg, write

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")


def red_values(dataset: ImageTensorDataset) -> list[int]:
    """The red value of each image: the tests' files are identified by it."""
    return dataset.images[:, 0, 0, 0].tolist()


def labelled_tree(root: Path) -> dict[str, list[int]]:
    """root/<class>/...: returns the red values per class, in sorted-path order."""
    layout = {
        "zebra": ["b.png", "a.png"],
        "ant": ["x.png", "nested/deeper/c.png", "m.png"],
    }
    values: dict[str, list[int]] = {}
    value = 10
    for cls, names in layout.items():
        for name in names:
            write(root / cls / name, solid_png(value))
            values.setdefault(cls, []).append(value)
            value += 10
    # ant's files sorted by relative path: m.png, nested/deeper/c.png, x.png
    values["ant"] = [values["ant"][2], values["ant"][1], values["ant"][0]]
    values["zebra"] = [values["zebra"][1], values["zebra"][0]]  # a.png, b.png
    return values


def test_labels_come_from_sorted_subfolders(tmp_path: Path) -> None:
    expected = labelled_tree(tmp_path)
    (tmp_path / "README.txt").write_text("not data")
    (tmp_path / ".hidden").mkdir()
    write(tmp_path / ".hidden" / "x.png", solid_png(250))
    write(tmp_path / "zebra" / "._a.png", b"macOS resource fork")
    ds = load_image_folder(tmp_path)
    assert isinstance(ds, ImageTensorDataset)
    assert ds.classes == ["ant", "zebra"]
    assert red_values(ds) == expected["ant"] + expected["zebra"]
    assert ds.labels.tolist() == [0, 0, 0, 1, 1]
    assert ds.images.shape == (5, 3, 4, 4) and ds.images.dtype == torch.uint8
    item = ds[3]
    assert item["label"] == 1 and int(item["input"][0, 0, 0]) == expected["zebra"][0]


def test_flat_folder_is_unlabelled(tmp_path: Path) -> None:
    for i, name in enumerate(["b.png", "a.png", "c.png"]):
        write(tmp_path / name, solid_png(100 + i))
    ds = load_image_folder(tmp_path)
    assert isinstance(ds, ImageTensorDataset)
    assert ds.classes == [] and ds.labels.tolist() == [-1, -1, -1]
    assert red_values(ds) == [101, 100, 102]  # a, b, c


def test_loose_images_next_to_class_folders_are_an_error(tmp_path: Path) -> None:
    write(tmp_path / "loose.png", solid_png(1))
    write(tmp_path / "cat" / "a.png", solid_png(2))
    with pytest.raises(ValueError, match="both loose images and class subfolders"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize("cache", [True, False])
def test_empty_folder_error_names_the_path(tmp_path: Path, cache: bool) -> None:
    (tmp_path / "README.txt").write_text("no images here")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match=str(tmp_path)) as caught:
        load_image_folder(tmp_path, cache=cache)
    assert "no image files" in str(caught.value)
    with pytest.raises(ValueError, match="does not exist"):
        load_image_folder(tmp_path / "missing", cache=cache)


def broken_folder(root: Path) -> tuple[list[int], list[str]]:
    """Four good PNGs, three broken image files and a README; returns good values, bad paths."""
    good = []
    for i in range(4):
        write(root / f"good{i}.png", solid_png(40 + i))
        good.append(40 + i)
    bad = [
        write(root / "bad_empty.jpg", b""),
        write(root / "bad_text.png", b"this is text, not a PNG\n"),
        write(root / "bad_truncated.jpg", truncated_jpeg()),
    ]
    (root / "README.txt").write_text("ignored: no image extension")
    return good, [str(p) for p in bad]


SUMMARY = "skipped 3 of 7 files: 1 not an image, 1 truncated, 1 zero-byte (first: {})"


def test_broken_files_are_skipped_and_counted_when_caching(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = broken_folder(tmp_path)
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        ds = load_image_folder(tmp_path, cache=True)
    assert isinstance(ds, ImageTensorDataset)
    assert red_values(ds) == good
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [SUMMARY.format(", ".join(bad))]


def test_no_summary_when_nothing_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "a.png", solid_png(1))
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        load_image_folder(tmp_path)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("workers", [0, 2])
def test_lazy_folder_drops_broken_files_in_collate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, workers: int
) -> None:
    good, bad = broken_folder(tmp_path)
    ds = load_image_folder(tmp_path, cache=False)
    assert isinstance(ds, LazyImageDataset) and len(ds) == 7
    loader = DataLoader(ds, batch_size=3, num_workers=workers, collate_fn=collate)
    batches = [b for b in loader if len(b["label"])]  # a batch of only bad files is empty
    seen = [int(v) for batch in batches for v in batch["input"][:, 0, 0, 0]]
    assert sorted(seen) == good
    # Failures recorded inside worker processes are visible here.
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        line = ds.report_skips()
    assert line == SUMMARY.format(", ".join(bad))
    assert [r.getMessage() for r in caplog.records] == [line]


def test_mixed_sizes_need_an_image_size(tmp_path: Path) -> None:
    write(tmp_path / "a.png", solid_png(1, (4, 4)))
    write(tmp_path / "b.png", solid_png(2, (6, 3)))
    with pytest.raises(ValueError, match=r"differ in size .*set an image size"):
        load_image_folder(tmp_path)
    ds = load_image_folder(tmp_path, size=2)
    assert isinstance(ds, ImageTensorDataset)
    assert ds.images.shape == (2, 3, 2, 2) and red_values(ds) == [1, 2]
    lazy = load_image_folder(tmp_path, cache=False)
    with pytest.raises(ValueError, match="set an image size"):
        get_modality("image").collate([lazy[0], lazy[1]])


def test_split_is_stratified_deterministic_and_disjoint(tmp_path: Path) -> None:
    counts = {"a": 10, "b": 5, "c": 3}
    for cls, n in counts.items():
        for i in range(n):
            # Names out of creation order: sorting, not file-system order, must decide.
            write(tmp_path / cls / f"{(i * 7) % n:02d}.png", solid_png(i))
    fraction = 0.2
    train = load_image_folder(tmp_path, split="train", val_fraction=fraction, cache=False)
    val = load_image_folder(tmp_path, split="val", val_fraction=fraction, cache=False)
    assert isinstance(train, LazyImageDataset) and isinstance(val, LazyImageDataset)
    expected_val = []
    for cls, n in counts.items():
        n_val = int(n * fraction + 0.5)  # 2, 1, 1 (0.6 rounds up)
        names = sorted(f"{i:02d}.png" for i in range(n))
        expected_val += [os.path.join(tmp_path, cls, name) for name in names[n - n_val :]]
    assert val.paths == expected_val
    assert set(train.paths).isdisjoint(val.paths)
    assert len(train) + len(val) == sum(counts.values())
    again = load_image_folder(tmp_path, split="val", val_fraction=fraction, cache=False)
    assert isinstance(again, LazyImageDataset) and again.paths == val.paths
    cached = load_image_folder(tmp_path, split="val", val_fraction=fraction)
    assert isinstance(cached, ImageTensorDataset)
    assert cached.labels.tolist() == [0, 0, 1, 2]


def test_split_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="val_fraction > 0"):
        split_indices([0, 0], "val", 0.0)
    with pytest.raises(ValueError, match="split must be one of"):
        split_indices([0, 0], "test", 0.1)
    with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\)"):
        split_indices([0, 0], "train", 1.0)
    assert split_indices([0, 0, 1, 1], "all", 0.0) == [0, 1, 2, 3]


def test_scan_lists_nested_files_per_class(tmp_path: Path) -> None:
    write(tmp_path / "k" / "z" / "1.jpeg", b"x")
    write(tmp_path / "k" / "a.JPG", b"x")
    write(tmp_path / "k" / "notes.md", b"x")
    listing = scan_image_folder(tmp_path)
    assert listing.classes == ["k"]
    assert [os.path.relpath(p, tmp_path) for p in listing.paths] == ["k/a.JPG", "k/z/1.jpeg"]


def test_cache_larger_than_memory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        write(tmp_path / f"{i}.png", solid_png(i, (8, 8)))
    pages = {"SC_PAGE_SIZE": 1, "SC_PHYS_PAGES": 500}  # 500 bytes; the cache needs 576
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    with pytest.raises(ValueError, match=r"caching 3 images of 3x8x8 .* use cache=False"):
        load_image_folder(tmp_path)
    monkeypatch.setitem(pages, "SC_PHYS_PAGES", 1000)
    assert len(load_image_folder(tmp_path)) == 3


@pytest.mark.parametrize("side, word", [(64, "shrinks"), (8, "upsamples")])
def test_a_size_that_changes_the_resolution_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, side: int, word: str
) -> None:
    for i in range(3):
        write(tmp_path / f"{i}.png", solid_png(i, (side, side)))
    with caplog.at_level(logging.INFO, logger="selfsup"):
        dataset = load_image_folder(tmp_path, size=32)
    assert dataset[0]["input"].shape == (3, 32, 32)
    assert f"about {side} px on the shorter side: decoding them at size 32 {word}" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="selfsup"):
        load_image_folder(tmp_path, size=side)
    assert "shorter side" not in caplog.text


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("cache", [True, False])
def test_a_fifo_named_like_an_image_is_counted_not_waited_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, cache: bool
) -> None:
    write(tmp_path / "a.png", solid_png(10))
    os.mkfifo(tmp_path / "x.jpg")  # opening it for reading would block until a writer came
    result: list[object] = []

    def load() -> None:
        ds = load_image_folder(tmp_path, size=4, cache=cache, workers=1)
        if isinstance(ds, LazyImageDataset):
            assert [ds[i] is None for i in range(len(ds))] == [False, True]
            ds.report_skips()
        result.append(len(ds))

    # A hang is the failure this guards against: a thread turns it into an assertion.
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        worker.join(60)
    assert not worker.is_alive(), "loading blocked on the FIFO"
    assert result == [1 if cache else 2]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [f"skipped 1 of 2 files: 1 not a regular file (first: {tmp_path}/x.jpg)"]
