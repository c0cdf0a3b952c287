"""Data sources by name: ``build_dataset("folder", "train", path=..., size=32)``.

Each source is one registered factory whose typed keyword parameters are the schema of the
``data.*`` config keys. Every factory takes ``split`` ("all", "train" or "val"), passed by
:func:`build_dataset`; a new source (audio folders, text files) is one decorated function.
"""

from __future__ import annotations

from typing import Any, Literal

from torch.utils.data import Dataset

from selfsup.data.audio import check_rates, load_audio_clips
from selfsup.data.audio_listing import list_audio_split
from selfsup.data.bundled import load_digits
from selfsup.data.decode import MAX_PIXELS
from selfsup.data.frame_labels import read_frame_labels
from selfsup.data.images import load_image_folder
from selfsup.data.shards import TarShardDataset
from selfsup.registry import ConfigError, Registry

DATA_SOURCES: Registry[Dataset[Any]] = Registry("data source")
register_data_source = DATA_SOURCES.register

Split = Literal["all", "train", "val"]


@register_data_source("folder", modality="image")
def folder(
    path: str,
    split: Split = "all",
    size: int | None = None,
    cache: bool = True,
    val_fraction: float = 0.0,
    max_pixels: int = MAX_PIXELS,
) -> Dataset[Any]:
    """An image folder (class subfolders give labels); "val" is the last ``val_fraction`` of
    each class by file name. ``cache`` decodes everything into memory up front. Images of more
    than ``max_pixels`` pixels are skipped and counted as "too large"."""
    return load_image_folder(
        path, size=size, cache=cache, split=split, val_fraction=val_fraction, max_pixels=max_pixels
    )


@register_data_source("shards", modality="image")
def shards(
    path: str,
    split: Split = "all",
    size: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    shuffle_buffer: int = 1000,
    val_path: str | None = None,
    max_pixels: int = MAX_PIXELS,
) -> Dataset[Any]:
    """Tar shards at ``path`` (a directory, glob or file); split "val" reads ``val_path``,
    unshuffled. Each epoch shuffles the shard order and, per DataLoader worker, samples
    through a buffer of ``shuffle_buffer`` encoded samples, seeded by ``seed`` (default: the
    run's ``train.seed``) and the epoch."""
    if shuffle_buffer < 1:
        raise ConfigError(f"data.shuffle_buffer must be >= 1, got {shuffle_buffer}")
    seed = 0 if seed is None else seed
    if split == "val":
        if val_path is None:
            raise ConfigError("split 'val' of data source 'shards' needs 'data.val_path'")
        return TarShardDataset(val_path, size=size, shuffle=False, seed=seed, max_pixels=max_pixels)
    return TarShardDataset(
        path,
        size=size,
        shuffle=shuffle,
        seed=seed,
        shuffle_buffer=shuffle_buffer,
        max_pixels=max_pixels,
    )


@register_data_source("digits", modality="image")
def digits(split: Split = "all") -> Dataset[Any]:
    """scikit-learn's bundled 8x8 digits; "train" 1,347 / "val" the fixed 450-image test set."""
    return load_digits("test" if split == "val" else split)


@register_data_source("audio", modality="audio")
def audio(
    path: str,
    sample_rate: int,
    split: Split = "all",
    max_seconds: float | None = None,
    label_pattern: str | None = None,
    label: str | None = None,
    test_split: dict[str, Any] | None = None,
    val_fraction: float = 0.0,
    drop_silent: bool = False,
    seed: int | None = None,
    frame_labels: str | None = None,
) -> Dataset[Any]:
    """A folder of wav / flac / ogg files (at any depth), decoded once to mono at
    ``sample_rate`` Hz. Labels come from class subfolders, or from the file-name group
    ``label`` of ``label_pattern``; "val" is the files ``test_split`` holds out (e.g.
    ``{n: "0-4"}``), else the last ``val_fraction`` of each class. Items of "train" and
    "all" longer than ``max_seconds`` are cropped at a random offset fixed by ``seed``
    (default: the run's ``train.seed``), the epoch and the index; "val" items are whole
    clips. Silent clips are kept unless ``drop_silent``. ``frame_labels``: a file written by
    ``selfsup cluster``; items then carry their frames' labels (HuBERT's targets) and crops
    start on frame boundaries."""
    check_rates(sample_rate, max_seconds)
    labels = read_frame_labels(frame_labels) if frame_labels else None  # bad file: fail first
    listing = list_audio_split(path, split, label_pattern, label, test_split, val_fraction)
    crop = max_seconds if split != "val" else None
    clips = load_audio_clips(listing, sample_rate, crop, 0 if seed is None else seed, drop_silent)
    if labels is not None:
        clips.attach_frame_labels(labels)
    return clips


def build_dataset(source: str, split: str = "all", **kwargs: Any) -> Dataset[Any]:
    """Build data source ``source``'s ``split``; ``kwargs`` are its ``data.*`` keys.

    Unknown sources and keys, wrong types and missing keys raise a one-line ConfigError.
    """
    DATA_SOURCES.validate(source, kwargs, where="data", skip=("split",))
    if split not in ("all", "train", "val"):
        raise ConfigError(f"split must be one of all, train, val, got '{split}'")
    return DATA_SOURCES.create(source, split=split, **kwargs)


def list_data_sources() -> list[str]:
    """Names of all registered data sources."""
    return DATA_SOURCES.names()
