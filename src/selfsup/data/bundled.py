"""The bundled default dataset: scikit-learn's 8x8 handwritten digits (no download).

1,797 grey images of the digits 0-9, pixel values 0..16, shipped inside scikit-learn. They are
scaled to 0..255 (``round(v * 255 / 16)``) and the grey channel is repeated to RGB, so they go
through the same image pipeline as any photo. The train/test split is fixed: stratified by
class, 450 test images, ``random_state=0`` (1,347 train / 450 test).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from selfsup.data.tensor_dataset import ImageTensorDataset

DIGITS_SPLITS = ("train", "test", "all")
DIGITS_TEST_SIZE = 450
DIGITS_SEED = 0


def load_digits(split: str = "train") -> ImageTensorDataset:
    """The digits as ``uint8 [N, 3, 8, 8]`` with labels 0..9 and classes "0".."9".

    ``split``: "train" (1,347), "test" (450) or "all" (1,797).
    """
    if split not in DIGITS_SPLITS:
        raise ValueError(f"digits split must be one of {', '.join(DIGITS_SPLITS)}, got '{split}'")
    images, labels, train_idx, test_idx = _digits_arrays()
    chosen = {"train": train_idx, "test": test_idx, "all": np.arange(len(labels))}[split]
    return ImageTensorDataset(
        torch.from_numpy(images[chosen]).clone(),
        torch.from_numpy(labels[chosen]).clone(),
        [str(d) for d in range(10)],
    )


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # Imported here: scikit-learn takes seconds to import and only this source needs it.
    from sklearn.datasets import load_digits as _sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = _sklearn_digits()
    grey = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # [N, 8, 8]
    images = np.repeat(grey[:, None], 3, axis=1)  # [N, 3, 8, 8]
    labels = bunch.target.astype(np.int64)
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)),
        test_size=DIGITS_TEST_SIZE,
        stratify=labels,
        random_state=DIGITS_SEED,
    )
    return images, labels, np.sort(train_idx), np.sort(test_idx)
