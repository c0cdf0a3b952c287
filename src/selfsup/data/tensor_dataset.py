"""The in-memory form of a labelled image set: one uint8 tensor, one label tensor.

Whole-batch consumers (feature extraction, kNN, the bundled digits) index ``.images`` and
``.labels`` directly instead of going through a DataLoader.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from selfsup.data.collate import Item


class ImageTensorDataset(Dataset[Item]):
    """``images`` uint8 ``[N, 3, H, W]``, ``labels`` int64 ``[N]`` (-1 = unlabelled),
    ``classes`` the names of labels ``0..len(classes)-1``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(
                f"images must be uint8 [N, 3, H, W], got {images.dtype} {list(images.shape)}"
            )
        if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
            raise ValueError(
                f"labels must be int64 [{images.shape[0]}], got {labels.dtype} {list(labels.shape)}"
            )
        if labels.numel() and (labels.min() < -1 or labels.max() >= len(classes)):
            raise ValueError(
                f"labels must lie in -1..{len(classes) - 1} for {len(classes)} classes, "
                f"got {int(labels.min())}..{int(labels.max())}"
            )
        self.images = images
        self.labels = labels
        self.classes = list(classes)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> Item:
        return {"input": self.images[index], "label": int(self.labels[index])}

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self.images.shape[1:])
        return f"ImageTensorDataset({len(self)} images {shape}, {len(self.classes)} classes)"
