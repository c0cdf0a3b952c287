"""Every registered data source, built from a tiny fixture: it yields ``{"input", "label"}``
items of its modality's form and reports what it skipped in one counted warning."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import IterableDataset

from selfsup.data.sources import DATA_SOURCES, build_dataset, register_data_source

from .source_recipes import RECIPES, SourceCase

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")


def recipe(name: str, root: Path) -> SourceCase:
    """The source's tiny fixture, written under ``root``; fails when it has no recipe."""
    if name not in RECIPES:
        pytest.fail(f"data source '{name}' has no tiny-fixture recipe in tests/data/source_recipes")
    return RECIPES[name](root)


def items(dataset: Any) -> list[Any]:
    """Every item, in order, of a map-style or iterable dataset."""
    if isinstance(dataset, IterableDataset):
        return list(dataset)
    return [dataset[i] for i in range(len(dataset))]


def check_item(item: Any, modality: str, sides: tuple[str, ...] = ()) -> None:
    if modality == "pairs":  # two items of their own modalities, one label for the pair
        assert isinstance(item, dict) and set(item) == {"a", "b", "label"}, item
        for side, side_modality in zip("ab", sides, strict=True):
            check_item(item[side], side_modality)
            assert item[side]["label"] == item["label"]
        return
    assert isinstance(item, dict) and set(item) == {"input", "label"}, item
    x, label = item["input"], item["label"]
    assert isinstance(label, int) and label >= -1, label
    assert isinstance(x, torch.Tensor)
    if modality == "image":
        assert x.dtype == torch.uint8 and x.ndim == 3 and x.shape[0] == 3, (x.dtype, x.shape)
    elif modality == "text":
        assert x.dtype == torch.int64 and x.ndim == 1 and len(x) > 0, (x.dtype, x.shape)
    elif modality == "audio":
        assert x.dtype == torch.float32 and x.ndim == 1 and len(x) > 0, (x.dtype, x.shape)
        assert torch.isfinite(x).all()  # NaN is the padding marker: never inside a clip
    else:
        pytest.fail(f"no item contract for modality '{modality}'")


@pytest.mark.parametrize("name", DATA_SOURCES.names())
def test_source_yields_schema_items_and_counts_skips(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    case = recipe(name, tmp_path)
    modality = DATA_SOURCES.tags(name).get("modality", "")
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        dataset = build_dataset(name, "all", **case.kwargs)
        got = items(dataset)
    assert len(got) == case.items
    for item in got:
        check_item(item, modality, getattr(dataset, "sides", ()))
    assert {item["label"] for item in got} == case.labels
    summaries = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    if case.skipped is None:
        assert summaries == []
    else:
        assert len(summaries) == 1 and summaries[0].startswith(case.skipped), summaries


def test_a_source_without_a_recipe_fails(tmp_path: Path) -> None:
    @register_data_source("untested_source", modality="image")
    def untested(split: str = "all") -> Any:
        return []

    try:
        assert "untested_source" in DATA_SOURCES.names()
        with pytest.raises(pytest.fail.Exception, match="no tiny-fixture recipe"):
            recipe("untested_source", tmp_path)
    finally:
        DATA_SOURCES.unregister("untested_source")
