"""Pick a labeled subset of a dataset for online monitors, without decoding anything."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset, IterableDataset, Subset


def dataset_labels(dataset: Any) -> torch.Tensor | None:
    """The label of every item if the dataset knows them up front (``.labels``), else None."""
    labels = getattr(dataset, "labels", None)
    if labels is None or isinstance(dataset, IterableDataset):
        return None
    return torch.as_tensor(labels)


def labeled_subset(dataset: Dataset[Any], size: int, seed: int) -> Dataset[Any] | None:
    """A seeded random subset of at most ``size`` labeled items (None if nothing is labeled)."""
    labels = dataset_labels(dataset)
    if labels is None:
        return None
    labeled = torch.nonzero(labels >= 0).flatten()
    if labeled.numel() == 0:
        return None
    if labeled.numel() > size:
        g = torch.Generator().manual_seed(seed)
        labeled = labeled[torch.randperm(labeled.numel(), generator=g)[:size]].sort().values
    return Subset(dataset, labeled.tolist())
