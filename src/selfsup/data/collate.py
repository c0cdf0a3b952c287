"""Items -> batch: stack what decoded, drop (and count) what did not.

An item is ``{"input": tensor, "label": int}`` (label -1 when unlabelled): ``uint8 [3, H, W]``
for images, ``int64 [T]`` for text (each modality spec in ``selfsup.modalities`` names its
schema). Lazy datasets yield ``None`` for a file that failed to decode. A batch stacks the
inputs and labels: ``{"input": [B, ...], "label": int64 [B]}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import torch

from selfsup.data.skips import SkipLog


class _ItemFields(TypedDict):
    input: torch.Tensor
    label: int


class Item(_ItemFields, total=False):
    """One decoded sample: ``input`` and ``label`` always, ``index`` (its position in the
    dataset) where the source or the engine adds it, ``frame_labels`` (int64 per-frame targets)
    where an audio source has a frame-label file."""

    index: int
    frame_labels: torch.Tensor


Batch = dict[str, torch.Tensor]
"""A collated batch: ``input`` and ``label`` tensors with a leading batch dimension."""

DROPPED = "dropped by collate"


def collate(
    items: Sequence[Item | None], skips: SkipLog | None = None, shape_hint: str = ""
) -> Batch:
    """Stack ``items`` into a batch, dropping ``None`` entries (counted into ``skips``).

    If every item was dropped the batch has zero rows (``input`` of shape ``[0]``); training
    loops should skip such batches. Inputs of different shapes raise a one-line ValueError
    ending in ``shape_hint``: the modality's fix (a modality spec's ``collate`` passes it).
    """
    kept = [item for item in items if item is not None]
    if skips is not None:
        skips.add("", DROPPED, len(items) - len(kept))
    if not kept:
        empty = torch.empty(0, dtype=torch.uint8)
        return {"input": empty, "label": torch.empty(0, dtype=torch.int64)}
    shapes = {tuple(item["input"].shape) for item in kept}
    if len(shapes) > 1:
        a, b = sorted(shapes)[:2]
        hint = f"; {shape_hint}" if shape_hint else ""
        raise ValueError(f"inputs in one batch differ in shape ({list(a)} vs {list(b)}){hint}")
    inputs = torch.stack([item["input"] for item in kept])
    return {"input": inputs, **batch_extras(kept)}


def batch_extras(kept: Sequence[Item]) -> Batch:
    """The batch's ``label`` and, when every item has one, its dataset ``index`` (the key
    self-paced learning tracks each sample by)."""
    labels = torch.tensor([int(item["label"]) for item in kept], dtype=torch.int64)
    out = {"label": labels}
    if all("index" in item for item in kept):
        out["index"] = torch.tensor([int(item["index"]) for item in kept], dtype=torch.int64)
    return out
