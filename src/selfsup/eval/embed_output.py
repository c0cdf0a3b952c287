"""Read a ``selfsup embed`` output folder back: ids, float32 vectors and labels.

>>> ids, vectors, labels = read_embeddings("embeddings/")       # doctest: +SKIP
>>> for part in iter_embedding_parts("embeddings/"):           # doctest: +SKIP
...     index.add(part.vectors)                                 # one part in memory at a time

Only parts the manifest lists are read, so a folder a killed run left behind reads as the
parts it finished (with ``partial=True``); stray files are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from selfsup.eval.embed_manifest import read_manifest
from selfsup.eval.embed_parts import PartRows, read_part


class Embeddings(NamedTuple):
    """``ids`` (one string per row), ``vectors`` float32 ``[N, D]``, ``labels`` int64 ``[N]``
    (None when the output has no labels); rows in source order."""

    ids: list[str]
    vectors: np.ndarray
    labels: np.ndarray | None


def iter_embedding_parts(out: str | Path, partial: bool = False) -> Iterator[PartRows]:
    """The parts of output folder ``out`` in order, one at a time (empty parts skipped).

    An unfinished output (a run was stopped) raises ValueError unless ``partial``.
    """
    manifest = read_manifest(out)
    if not manifest.get("complete") and not partial:
        done, items = len(manifest["parts"]), manifest["source"]["items"]
        raise ValueError(
            f"{out} is unfinished ({done} parts done, {items:,} items in all): rerun the same "
            "selfsup embed command to finish it, or read it with partial=True"
        )
    for part in manifest["parts"]:
        if part["files"]:
            yield read_part(Path(out), part["files"], int(manifest["dim"]))


def read_embeddings(out: str | Path, partial: bool = False) -> Embeddings:
    """Every row of output folder ``out``: ``(ids, vectors, labels)``.

    This holds all vectors in memory; :func:`iter_embedding_parts` reads one part at a time.
    """
    manifest = read_manifest(out)
    dim = int(manifest["dim"] or 0)
    ids: list[str] = []
    vectors: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    has_labels = bool(manifest["output"].get("labels"))
    for part in iter_embedding_parts(out, partial):
        ids.extend(part.ids)
        vectors.append(part.vectors)
        if part.labels is not None:
            labels.append(part.labels)
    stacked = np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    label_rows = None
    if has_labels:
        label_rows = np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
    return Embeddings(ids, stacked, label_rows)
