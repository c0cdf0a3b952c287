"""Report pictures name classes by their folder names, through Subset wrappers."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset, Subset

from selfsup.eval.tsne import class_name
from selfsup.report.sections_features import dataset_classes


class Named(Dataset[dict[str, torch.Tensor]]):
    classes = ("cat", "dog")

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input": torch.zeros(3, 4, 4), "label": torch.tensor(i)}


class Unnamed(Named):
    classes = ()


def test_names_come_through_nested_subsets() -> None:
    assert dataset_classes(Subset(Subset(Named(), [0, 1]), [1])) == ["cat", "dog"]
    assert dataset_classes(Unnamed()) is None


def test_class_name_falls_back_to_the_number() -> None:
    assert class_name(1, ["cat", "dog"]) == "dog"
    assert class_name(5, ["cat", "dog"]) == "5"
    assert class_name(0, None) == "0"
