"""Evaluation image sets named on the command line: ``digits:train|test``, a class folder
``PATH[@train|val]``, or tar shards (a ``.tar``, a glob, or a directory of shards)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from selfsup.data.sources import build_dataset
from selfsup.registry import ConfigError, closest

DIGITS_SPLITS = ("train", "test", "val", "all")  # val is the same fixed split as test


def digits_split(spec: str) -> str:
    """The split a ``digits:SPLIT`` spec names (train, test, val or all), or a ConfigError."""
    split = spec.split(":", 1)[1]
    if split not in DIGITS_SPLITS:
        raise ConfigError(
            "digits has the splits train, test (also called val) and all, got "
            f"'digits:{split}'{closest(split, DIGITS_SPLITS)}"
        )
    return split


def image_dataset_from_spec(spec: str, size: int | None, val_fraction: float) -> Dataset[Any]:
    """The labelled image set ``spec`` names, decoded to ``size`` x ``size`` when given;
    ``@val`` is the last ``val_fraction`` of each class (``@train`` the rest)."""
    if spec.startswith("digits:"):
        split = digits_split(spec)
        return build_dataset("digits", split="val" if split == "test" else split)
    path, _, split = spec.partition("@")
    p = Path(path)
    if path.endswith(".tar") or "*" in path or (p.is_dir() and any(p.glob("*.tar"))):
        return build_dataset("shards", split="all", path=path, size=size)
    if not p.exists():
        raise ConfigError(f"data not found: {path}")
    return build_dataset(
        "folder",
        split=split or "all",
        path=path,
        size=size,
        val_fraction=val_fraction if split else 0.0,
    )
