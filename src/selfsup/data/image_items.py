"""Image item sources for ``selfsup embed``: a folder (``PATH[@train|val]``) read file by file,
or the bundled ``digits:train|test|all``.

A folder follows the layout rules of :mod:`selfsup.data.folder_scan` (class subfolders give
labels, a flat folder is unlabelled); its ids are paths relative to the folder, so an output
stays meaningful when the folder moves. Files that fail to decode are skipped with the same
reasons training counts ("truncated", "not an image", "too large", ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from selfsup.data.bundled import load_digits
from selfsup.data.collate import Item
from selfsup.data.decode import MAX_PIXELS, BadImage
from selfsup.data.eval_images import digits_split
from selfsup.data.folder_scan import scan_image_folder, split_indices
from selfsup.data.images import decode_image_file
from selfsup.data.item_sources import ItemSource, UnreadableItem
from selfsup.data.tensor_dataset import ImageTensorDataset
from selfsup.registry import ConfigError


class ImageFileItems(ItemSource):
    """Image files decoded one per item (to ``size`` x ``size`` when given)."""

    noun = "files"

    def __init__(
        self,
        root: str | Path,
        split: str = "all",
        val_fraction: float = 0.0,
        size: int | None = None,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        super().__init__()
        self.root = os.path.abspath(root)
        self._prefix = os.path.join(self.root, "")
        listing = scan_image_folder(self.root)
        keep = split_indices(listing.labels, split, val_fraction)
        self.paths = [listing.paths[i] for i in keep]
        self.labels = [listing.labels[i] for i in keep]
        self.classes = listing.classes
        self.has_labels = bool(listing.classes)
        self.split, self.val_fraction = split, val_fraction if split != "all" else 0.0
        self.size, self.max_pixels = size, max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def item_id(self, index: int) -> str:
        path = self.paths[index]
        if path.startswith(self._prefix):  # as the scan joined it: a slice, not a relpath
            path = path[len(self._prefix) :]
        else:
            path = os.path.relpath(path, self.root)
        return path.replace(os.sep, "/")

    def label(self, index: int) -> int:
        return self.labels[index]

    def read(self, index: int) -> Item:
        try:
            image = decode_image_file(self.paths[index], self.size, self.max_pixels)
        except BadImage as bad:
            raise UnreadableItem(bad.reason) from None
        return {"input": image, "label": self.labels[index]}

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "image folder",
            "path": self.root,
            "split": self.split,
            "val_fraction": self.val_fraction,
            "size": self.size,
        }


class TensorImageItems(ItemSource):
    """An in-memory image set (the bundled digits), ids ``NAME/i``."""

    noun = "images"

    def __init__(self, images: ImageTensorDataset, name: str) -> None:
        super().__init__()
        self.images, self.name = images, name
        self.classes = images.classes
        self.has_labels = bool(images.classes)

    def __len__(self) -> int:
        return len(self.images)

    def item_id(self, index: int) -> str:
        return f"{self.name}/{index}"

    def label(self, index: int) -> int:
        return int(self.images.labels[index])

    def read(self, index: int) -> Item:
        return self.images[index]

    def describe(self) -> dict[str, Any]:
        return {"kind": "bundled images", "path": self.name, "size": None}


def image_item_source(spec: str, size: int | None, val_fraction: float) -> ItemSource:
    """The source a command-line ``spec`` names: ``digits:SPLIT`` or a folder
    ``PATH[@train|val]`` (``@val``: the last ``val_fraction`` of each class)."""
    if spec.startswith("digits:"):
        split = digits_split(spec)
        return TensorImageItems(load_digits("test" if split == "val" else split), spec)
    path, _, split = spec.partition("@")
    p = Path(path)
    if path.endswith(".tar") or "*" in path or (p.is_dir() and any(p.glob("*.tar"))):
        raise ConfigError(f"{path}: tar shards cannot be embedded yet; give an image folder")
    if not p.is_dir():
        raise ConfigError(f"image folder not found: {path}")
    try:
        return ImageFileItems(p, split or "all", val_fraction if split else 0.0, size)
    except ValueError as e:  # no images, a mixed layout, a bad split
        raise ConfigError(str(e)) from None
