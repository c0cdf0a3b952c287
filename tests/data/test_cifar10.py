"""The real CIFAR-10 JPEG folder (skipped when ../shared/data is absent)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsup.data.images import LazyImageDataset, load_image_folder
from selfsup.data.tensor_dataset import ImageTensorDataset

CIFAR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cifar10" / "train"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not CIFAR.is_dir(), reason=f"{CIFAR} is absent"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*"),
]


def test_one_class_folder_caches_to_uint8_tensors() -> None:
    ds = load_image_folder(CIFAR / "ship")
    assert isinstance(ds, ImageTensorDataset)
    assert ds.images.shape == (5000, 3, 32, 32) and set(ds.labels.tolist()) == {-1}
    first = np.asarray(Image.open(CIFAR / "ship" / "0000.jpg").convert("RGB"))
    np.testing.assert_array_equal(ds.images[0].permute(1, 2, 0).numpy(), first)


def test_whole_folder_lazily_with_a_stratified_val_split() -> None:
    val = load_image_folder(CIFAR, cache=False, split="val", val_fraction=0.1)
    assert isinstance(val, LazyImageDataset)
    assert val.classes == CLASSES and len(val) == 5000
    assert val.labels.bincount().tolist() == [500] * 10
    for index in (0, 2345, 4999):
        item = val[index]
        assert item is not None
        path = Path(val.paths[index])
        assert item["label"] == CLASSES.index(path.parent.name)
        assert int(path.stem) >= 4500  # the last tenth of each class by name
        reference = np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"))
        np.testing.assert_array_equal(item["input"].permute(1, 2, 0).numpy(), reference)
