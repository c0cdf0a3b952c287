"""Data specs of ``selfsup eval``/``visualize`` arguments turned into datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selfsup.registry import ConfigError


def dataset_from_spec(spec: str, size: int | None, val_fraction: float) -> Any:
    """``digits:train|test``, a folder ``PATH[@split]``, or tar shards (.tar, glob, or dir)."""
    from selfsup.data.sources import build_dataset

    if spec.startswith("digits:"):
        split = spec.split(":", 1)[1]
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


def is_text(method: Any) -> bool:
    """Whether the method's encoder reads token ids."""
    return getattr(method.encoder(), "modality", "image") == "text"


def text_dataset_from_spec(spec: str, method: Any, max_len: int | None) -> Any:
    """``PATH.tsv`` with a header: the ``label`` column and the text in ``sentence`` (or the
    other column: SST-2's dev file calls it ``content``), encoded with the checkpoint's
    tokenizer so ids mean what they meant in pretraining."""
    from selfsup.data.text import labeled_tsv

    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"text data not found: {spec} (give a labelled .tsv file)")
    with path.open(encoding="utf-8", errors="strict") as f:
        header = f.readline().rstrip("\n").split("\t")
    others = [c for c in header if c != "label"]
    if "label" not in header or not others:
        raise ConfigError(f"{spec}: expected a header with 'label' and a text column, got {header}")
    text_column = "sentence" if "sentence" in header else others[0]
    tokenizer = getattr(method.encoder(), "tokenizer", None)
    if tokenizer is None:
        raise ConfigError("this checkpoint's text encoder carries no tokenizer")
    limit = int(getattr(method.encoder(), "max_len", 64))
    return labeled_tsv(str(path), tokenizer, text_column, "label", min(max_len or limit, limit))
