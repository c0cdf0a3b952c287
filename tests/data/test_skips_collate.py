"""SkipLog's summary line, collate's dropping and stacking, ImageTensorDataset's checks."""

from __future__ import annotations

import logging

import pytest
import torch

from selfsup.data.collate import DROPPED, Item, collate
from selfsup.data.skips import MAX_EXAMPLES, SkipLog
from selfsup.data.tensor_dataset import ImageTensorDataset
from selfsup.modalities import get_modality


def test_summary_counts_by_reason_with_thousands_separators(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = SkipLog()
    reasons = ["truncated"] * 1500 + ["not an image"] * 2 + ["zero-byte"] * 2
    for i, reason in enumerate(reasons):
        log.add(f"f{i}.jpg", reason)
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        line = log.report(50_003)
    first = ", ".join(f"f{i}.jpg" for i in range(MAX_EXAMPLES))
    assert line == (
        f"skipped 1,504 of 50,003 files: 1,500 truncated, 2 not an image, 2 zero-byte "
        f"(first: {first})"
    )
    assert [r.getMessage() for r in caplog.records] == [line]
    assert log.skipped == len(reasons)


def test_nothing_skipped_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="selfsup.data"):
        assert SkipLog().report(10) is None
    assert caplog.records == []


def test_merge_keeps_counts_and_at_most_five_examples() -> None:
    a, b = SkipLog("samples"), SkipLog("samples")
    for i in range(4):
        a.add(f"a{i}", "truncated")
        b.add(f"b{i}", "truncated")
    a.merge(b)
    assert a.counts["truncated"] == 8
    assert a.examples == ["a0", "a1", "a2", "a3", "b0"]
    assert a.summary(9) == "skipped 8 of 9 samples: 8 truncated (first: a0, a1, a2, a3, b0)"


def item(value: int, label: int, shape: tuple[int, ...] = (3, 2, 2)) -> Item:
    return {"input": torch.full(shape, value, dtype=torch.uint8), "label": label}


def test_collate_stacks_and_drops_none() -> None:
    log = SkipLog()
    batch = collate([item(1, 0), None, item(2, -1), None], log)
    assert batch["input"].shape == (2, 3, 2, 2) and batch["input"].dtype == torch.uint8
    assert batch["input"][:, 0, 0, 0].tolist() == [1, 2]
    assert batch["label"].tolist() == [0, -1] and batch["label"].dtype == torch.int64
    assert log.counts[DROPPED] == 2


def test_collate_of_only_bad_items_is_an_empty_batch() -> None:
    batch = collate([None, None])
    assert batch["input"].numel() == 0 and batch["label"].shape == (0,)


def test_collate_names_mixed_shapes_and_the_modality_fix() -> None:
    mixed = [item(1, 0), item(1, 0, (3, 4, 4))]
    with pytest.raises(ValueError, match=r"\[3, 2, 2\] vs \[3, 4, 4\]\)$"):
        collate(mixed)
    with pytest.raises(ValueError, match=r"\[3, 2, 2\] vs \[3, 4, 4\].*image size"):
        get_modality("image").collate(mixed)
    ids: list[Item | None] = [
        {"input": torch.zeros(3, dtype=torch.int64), "label": 0},
        {"input": torch.zeros(5, dtype=torch.int64), "label": 0},
    ]
    with pytest.raises(ValueError, match="seq_len") as caught:
        get_modality("text").collate(ids)
    assert "image" not in str(caught.value)


def test_tensor_dataset_items_and_checks() -> None:
    images = torch.arange(2 * 3 * 2 * 2, dtype=torch.uint8).reshape(2, 3, 2, 2)
    ds = ImageTensorDataset(images, torch.tensor([1, -1]), ["a", "b"])
    assert len(ds) == 2 and ds[0]["label"] == 1 and torch.equal(ds[1]["input"], images[1])
    with pytest.raises(ValueError, match="uint8"):
        ImageTensorDataset(images.float(), torch.tensor([0, 0]), ["a"])
    with pytest.raises(ValueError, match="int64"):
        ImageTensorDataset(images, torch.tensor([0]), ["a"])
    with pytest.raises(ValueError, match=r"-1\.\.0 for 1 classes"):
        ImageTensorDataset(images, torch.tensor([0, 1]), ["a"])
