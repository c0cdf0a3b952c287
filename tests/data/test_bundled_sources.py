"""The bundled digits and the data-source registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets
import torch

from selfsup.data.bundled import load_digits
from selfsup.data.sources import DATA_SOURCES, build_dataset, list_data_sources
from selfsup.data.tensor_dataset import ImageTensorDataset
from selfsup.registry import ConfigError

from .helpers import solid_png, write


def test_digits_shapes_values_and_split_sizes() -> None:
    reference = sklearn.datasets.load_digits()
    train, test, full = load_digits("train"), load_digits("test"), load_digits("all")
    assert train.images.shape == (1347, 3, 8, 8) and test.images.shape == (450, 3, 8, 8)
    assert full.images.dtype == torch.uint8 and full.classes == [str(d) for d in range(10)]
    expected = np.rint(reference.images * 255 / 16).astype(np.uint8)
    for c in range(3):
        np.testing.assert_array_equal(full.images[:, c].numpy(), expected)
    np.testing.assert_array_equal(full.labels.numpy(), reference.target)
    assert int(full.images.min()) == 0 and int(full.images.max()) == 255


def test_digits_split_is_stratified_disjoint_and_fixed() -> None:
    train, test = load_digits("train"), load_digits("test")
    totals = np.bincount(sklearn.datasets.load_digits().target, minlength=10)
    test_counts = test.labels.bincount(minlength=10).numpy()
    np.testing.assert_array_equal(train.labels.bincount(minlength=10).numpy() + test_counts, totals)
    assert np.all(np.abs(test_counts - totals * 450 / 1797) <= 1)
    unique = lambda ds: {bytes(img.numpy()) for img in ds.images}  # noqa: E731
    assert unique(train) | unique(test) == unique(load_digits("all"))  # together: everything
    assert torch.equal(load_digits("test").images, test.images)
    with pytest.raises(ValueError, match="train, test, all"):
        load_digits("val")


def test_registry_lists_sources_with_typed_parameters() -> None:
    assert list_data_sources() == [
        "audio", "digits", "folder", "jsonl", "pairs", "shards", "text", "tsv",
    ]  # fmt: skip
    params = DATA_SOURCES.params("folder", skip=("split",))
    assert list(params) == ["path", "size", "cache", "val_fraction", "max_pixels"]
    assert params["path"].required and params["size"].default is None
    assert DATA_SOURCES.tags("digits") == {"modality": "image"}
    assert DATA_SOURCES.tags("text") == {"modality": "text"}


def test_build_dataset_dispatches() -> None:
    val = build_dataset("digits", "val")
    assert isinstance(val, ImageTensorDataset) and len(val) == 450


def test_build_folder_and_shards(tmp_path: Path) -> None:
    for cls in ("x", "y"):
        for i in range(5):
            write(tmp_path / "img" / cls / f"{i}.png", solid_png(i))
    val = build_dataset("folder", "val", path=str(tmp_path / "img"), val_fraction=0.2)
    assert isinstance(val, ImageTensorDataset) and val.labels.tolist() == [0, 1]
    with pytest.raises(ConfigError, match=r"data\.val_path"):
        build_dataset("shards", "val", path=str(tmp_path))


@pytest.mark.parametrize(
    ("source", "kwargs", "message"),
    [
        ("folders", {"path": "x"}, "unknown data source 'folders' (did you mean 'folder'?)"),
        ("folder", {"path": "x", "sise": 3}, "unknown key 'data.sise'"),
        ("folder", {}, "missing key 'data.path'"),
        ("folder", {"path": "x", "size": "big"}, "'data.size' expects"),
    ],
)
def test_build_dataset_errors_are_one_line(source: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_dataset(source, "train", **kwargs)
    assert message in str(caught.value) and "\n" not in str(caught.value)
