"""Batching pairs: each side with its own modality's collate, then joined into one batch.

A dataset whose items hold two modalities says so with ``sides`` (the pairs source does);
:func:`collate_for` then gives the engine, validation and evaluation a :class:`PairCollate`
instead of the encoder's one-modality collate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from selfsup.data.collate import DROPPED, Batch
from selfsup.data.pairs_batch import join_sides
from selfsup.data.skips import SkipLog
from selfsup.modalities.registry import get_modality, modality_of


class PairCollate:
    """Items ``{"a": item, "b": item, "label": int, "index"?: int}`` -> a pair batch
    (:mod:`selfsup.data.pairs_batch`); a pair with either side ``None`` is dropped whole."""

    def __init__(self, sides: tuple[str, str]) -> None:
        self.sides = sides
        self.a, self.b = get_modality(sides[0]), get_modality(sides[1])

    def __call__(self, items: Sequence[Any], skips: SkipLog | None = None) -> Batch:
        kept = [i for i in items if i is not None and i["a"] is not None and i["b"] is not None]
        if skips is not None:
            skips.add("", DROPPED, len(items) - len(kept))
        a = self.a.collate([it["a"] for it in kept])
        b = self.b.collate([it["b"] for it in kept])
        a["label"] = torch.tensor([int(it["label"]) for it in kept], dtype=torch.int64)
        if kept and all("index" in it for it in kept):
            a["index"] = torch.tensor([int(it["index"]) for it in kept], dtype=torch.int64)
        else:
            a.pop("index", None)
        return join_sides(a, b)


def collate_for(dataset: Any, encoder: nn.Module) -> Callable[[list[Any]], Batch]:
    """How to batch ``dataset``: a :class:`PairCollate` when its items are pairs (it has
    ``sides``), else ``encoder``'s modality's collate."""
    sides = getattr(dataset, "sides", None)
    if isinstance(sides, tuple) and len(sides) == 2:
        return PairCollate(sides)
    return modality_of(encoder).collate
