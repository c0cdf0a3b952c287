"""Items read one at a time by index, for streaming a whole source through an encoder once.

An :class:`ItemSource` is a map-style dataset that holds only its listing (paths, or byte
offsets of lines), never the items: a DataLoader over any range of indices reads just those
items, so ``selfsup embed`` stays flat in memory and can resume at any index. Each item has an
id (a path relative to the source, ``file:line``), a label when the source has them, and item
``i`` either reads or is skipped with a reason. :meth:`ItemSource.identity` describes the
listing (names, not file contents) so a resumed run can tell it is reading the same items.

A modality turns a command-line spec into its source (``Modality.item_source``); images and
text live in :mod:`selfsup.data.image_items` and :mod:`selfsup.data.text_items`, and a new
modality adds its own subclass.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypedDict

import torch
from torch.utils.data import Dataset

from selfsup.data.collate import Batch, Item, collate
from selfsup.data.skips import SkipLog


class UnreadableItem(Exception):
    """Item could not be read; ``reason`` is what the skip summary counts (e.g. "truncated")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceItem(TypedDict):
    """What a source yields per index: the item, or None and the reason it was skipped."""

    index: int
    item: Item | None
    reason: str


class ItemSource(Dataset[SourceItem], ABC):
    """A listing of items, each read on demand by index (in DataLoader workers too)."""

    noun: str = "items"
    """What the skip summary counts ("files", "lines")."""
    classes: list[str]
    """Names of labels ``0..len(classes)-1`` (empty when the source has none or they are ints)."""
    has_labels: bool
    """Whether items carry real labels (class folders, a label column), not -1."""

    def __init__(self) -> None:
        self.listing_skips = SkipLog(self.noun)
        """Items dropped while listing, before any index exists for them (text: empty lines)."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of items listed."""

    @abstractmethod
    def item_id(self, index: int) -> str:
        """A stable, human-readable id of item ``index`` (a relative path, ``file:line``)."""

    @abstractmethod
    def read(self, index: int) -> Item:
        """Item ``index``, or :class:`UnreadableItem` naming why it cannot be read."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-able facts that name the source (kind, absolute path, split, size)."""

    def __getitem__(self, index: int) -> SourceItem:
        try:
            return {"index": index, "item": self.read(index), "reason": ""}
        except UnreadableItem as bad:
            return {"index": index, "item": None, "reason": bad.reason}

    def label(self, index: int) -> int:
        """Label of item ``index`` without reading it (-1 when unknown). Default: -1."""
        return -1

    def identity(self) -> dict[str, Any]:
        """:meth:`describe` plus the item count and a sha256 of every id and label in order:
        equal identities list the same items the same way."""
        digest = hashlib.sha256()
        for i in range(len(self)):
            digest.update(f"{self.item_id(i)}\0{self.label(i)}\n".encode())
        return {
            **self.describe(),
            "items": len(self),
            "listing_skipped": self.listing_skips.skipped,
            "listing_sha256": digest.hexdigest(),
        }


def collate_source_items(
    items: Sequence[SourceItem],
    shape_hint: str = "",
    collate_items: Callable[[list[Item]], Batch] | None = None,
) -> dict[str, Any]:
    """Batch the readable items of ``items``; the skipped ones travel as ``(index, reason)``.

    ``collate_items`` batches them (a modality's ``collate``: audio pads clips and adds
    ``length``); default: stacking, with ``shape_hint`` as the fix for unequal shapes.

    Returns ``input``/``label`` (stacked), ``index`` (int64 of the kept items), ``skipped``,
    ``first`` and ``last`` (the lowest and highest index asked for, kept or not) and
    ``error``: a shape mismatch as one line, returned rather than raised so a DataLoader
    worker does not wrap it in a traceback.
    """
    kept = [s for s in items if s["item"] is not None]
    out: dict[str, Any] = {
        "index": torch.tensor([s["index"] for s in kept], dtype=torch.int64),
        "skipped": [(s["index"], s["reason"]) for s in items if s["item"] is None],
        "first": min(s["index"] for s in items),
        "last": max(s["index"] for s in items),
        "error": "",
    }
    try:
        readable = [s["item"] for s in kept if s["item"] is not None]
        if collate_items is None:
            out.update(collate(readable, shape_hint=shape_hint))
        else:
            out.update(collate_items(readable))
    except ValueError as e:
        out["error"] = str(e)
    return out
