"""Audio item sources for ``selfsup embed``: the files a spec ``PATH[:LABEL][@SPLIT]`` names
(:mod:`selfsup.data.eval_audio`), each decoded whole at the encoder's rate when read.

Ids are paths relative to the folder. Files that cannot be used are skipped with the reasons
training counts ("not audio", "malformed", "non-finite samples", ...); files whose name does
not match the label pattern are dropped while listing.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from selfsup.data.audio_decode import BadAudio, decode_audio_file
from selfsup.data.collate import Item
from selfsup.data.eval_audio import audio_listing_from_spec
from selfsup.data.item_sources import ItemSource, UnreadableItem


class AudioFileItems(ItemSource):
    """Audio files decoded one per item to float32 ``[T]`` at ``sample_rate``."""

    noun = "files"

    def __init__(self, spec: str, sample_rate: int, val_fraction: float = 0.0) -> None:
        super().__init__()
        listing, parsed = audio_listing_from_spec(spec, val_fraction)
        self.listing_skips.merge(listing.skips)
        self.root, self.spec, self.split = listing.root, spec, parsed.split
        self.paths, self.labels, self.classes = listing.paths, listing.labels, listing.classes
        self.has_labels = any(label >= 0 for label in self.labels)
        self.sample_rate = sample_rate

    def __len__(self) -> int:
        return len(self.paths)

    def item_id(self, index: int) -> str:
        return os.path.relpath(self.paths[index], self.root).replace(os.sep, "/")

    def label(self, index: int) -> int:
        return self.labels[index]

    def read(self, index: int) -> Item:
        try:
            clip = decode_audio_file(self.paths[index], self.sample_rate)
        except BadAudio as bad:
            raise UnreadableItem(bad.reason) from None
        return {"input": torch.from_numpy(clip.as_float32().copy()), "label": self.labels[index]}

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "audio folder",
            "path": self.root,
            "spec": self.spec,
            "split": self.split,
            "sample_rate": self.sample_rate,
        }
