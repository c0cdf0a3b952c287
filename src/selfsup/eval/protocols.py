"""One call per protocol over any encoder: features are extracted once and shared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from selfsup.eval.features import Features, extract_features
from selfsup.eval.knn import knn_accuracy
from selfsup.eval.linear import linear_probe

Encoder = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class FeatureSplits:
    """Train (bank / probe training) and test features of one encoder."""

    train: Features
    test: Features


def extract_splits(
    encode: Encoder,
    train: Dataset[Any],
    test: Dataset[Any],
    batch_size: int = 512,
    device: str | torch.device = "cpu",
) -> FeatureSplits:
    """Extract features of both splits with the same encoder."""
    return FeatureSplits(
        train=extract_features(encode, train, batch_size=batch_size, device=device),
        test=extract_features(encode, test, batch_size=batch_size, device=device),
    )


def knn_protocol(splits: FeatureSplits, k: int = 200, temperature: float = 0.1) -> dict[str, float]:
    """kNN top-1 of the test split against the train bank."""
    acc = knn_accuracy(
        splits.train.features,
        splits.train.labels,
        splits.test.features,
        splits.test.labels,
        k=k,
        temperature=temperature,
    )
    return {"knn_top1": acc, "k": k, "temperature": temperature}


def linear_protocol(splits: FeatureSplits, seed: int = 0, epochs: int = 100) -> dict[str, float]:
    """Linear-probe test accuracy (hyper-parameters chosen on a split of train)."""
    result = linear_probe(splits.train, splits.test, seed=seed, epochs=epochs)
    return {
        "linear_top1": result.test_accuracy,
        "best_lr": result.best_lr,
        "best_weight_decay": result.best_wd,
        "val_top1": result.val_accuracy,
    }


def raw_pixels(x: torch.Tensor) -> torch.Tensor:
    """The baseline encoder: flattened pixels scaled to [0, 1]."""
    return x.flatten(1).float() / 255.0
