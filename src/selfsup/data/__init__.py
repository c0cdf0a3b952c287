"""Data sources: decode images into ``uint8 [3, H, W]`` items, text into token-id windows;
augmentation happens later.

An image item is ``{"input": uint8 [3, H, W], "label": int}`` (label -1 when unlabelled); a text
item is ``{"input": int64 [T], "label": int}``; :func:`collate` stacks either. Sources are built
by name with :func:`build_dataset` ("folder", "shards", "digits", "audio", "text", "jsonl",
"tsv", "pairs": two modalities per item).
"""

from selfsup.data import pairs, text  # register the text and pairs sources
from selfsup.data.bundled import load_digits
from selfsup.data.collate import Batch, Item, collate
from selfsup.data.decode import BadImage, decode_image
from selfsup.data.images import LazyImageDataset, load_image_folder
from selfsup.data.shard_writer import write_shards
from selfsup.data.shards import TarShardDataset
from selfsup.data.skips import SkipLog
from selfsup.data.sources import (
    DATA_SOURCES,
    build_dataset,
    list_data_sources,
    register_data_source,
)
from selfsup.data.tensor_dataset import ImageTensorDataset

__all__ = [
    "DATA_SOURCES",
    "BadImage",
    "Batch",
    "ImageTensorDataset",
    "Item",
    "LazyImageDataset",
    "SkipLog",
    "TarShardDataset",
    "build_dataset",
    "collate",
    "decode_image",
    "list_data_sources",
    "load_digits",
    "load_image_folder",
    "pairs",
    "register_data_source",
    "text",
    "write_shards",
]
