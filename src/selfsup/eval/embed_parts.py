"""One part of an embedding output: rows of (index, id, label, vector), as Parquet or .npy.

- ``parquet``: ``part-NNNNN.parquet`` with columns ``index`` (int64, the item's position in
  the source), ``id`` (string), ``label`` (int64, only when labels are kept) and ``vector``
  (``fixed_size_list<float32>[D]``). Needs pyarrow (``pip install 'selfsup[parquet]'``).
- ``npy``: ``part-NNNNN.npy`` (float32 ``[n, D]``) beside ``part-NNNNN.json`` holding
  ``index``, ``id`` and (when kept) ``label`` lists in the same row order.

Each file is written atomically; a part counts only once the manifest lists it, so a kill
between a part's files leaves a part that the next run simply writes again.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from selfsup.eval.atomic_files import atomic_write
from selfsup.registry import ConfigError

FORMATS = ("parquet", "npy")


@dataclasses.dataclass
class PartRows:
    """Rows of one part: ``vectors`` float32 ``[n, D]``; ``labels`` None when not kept."""

    index: np.ndarray
    ids: list[str]
    vectors: np.ndarray
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


def part_files(number: int, fmt: str) -> list[str]:
    """File names of part ``number`` in format ``fmt``."""
    stem = f"part-{number:05d}"
    return [f"{stem}.parquet"] if fmt == "parquet" else [f"{stem}.npy", f"{stem}.json"]


def require_format(fmt: str) -> None:
    """Refuse an unknown format, or Parquet without pyarrow, in one line."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError(
                "--format parquet needs pyarrow: pip install 'selfsup[parquet]' (or --format npy)"
            ) from None


def write_part(out: Path, number: int, fmt: str, rows: PartRows) -> list[str]:
    """Write part ``number`` into ``out``; returns its file names."""
    names = part_files(number, fmt)
    if fmt == "parquet":
        atomic_write(out / names[0], lambda f: _write_parquet(f, rows))
        return names
    vectors = np.ascontiguousarray(rows.vectors, dtype=np.float32)
    atomic_write(out / names[0], lambda f: np.save(f, vectors, allow_pickle=False))
    meta: dict[str, Any] = {"index": rows.index.tolist(), "id": rows.ids}
    if rows.labels is not None:
        meta["label"] = rows.labels.tolist()
    text = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    atomic_write(out / names[1], lambda f: f.write(text))
    return names


def read_part(out: Path, files: list[str], dim: int) -> PartRows:
    """The rows of one part from its ``files`` (as the manifest lists them)."""
    if files[0].endswith(".parquet"):
        return _read_parquet(out / files[0], dim)
    with (out / files[0]).open("rb") as f:
        vectors = np.load(f, allow_pickle=False)  # vectors only: no object arrays, no pickle
    meta = json.loads((out / files[1]).read_text(encoding="utf-8"))
    labels = np.asarray(meta["label"], dtype=np.int64) if "label" in meta else None
    return PartRows(np.asarray(meta["index"], dtype=np.int64), list(meta["id"]), vectors, labels)


def _write_parquet(f: BinaryIO, rows: PartRows) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    dim = rows.vectors.shape[1]
    flat = pa.array(np.ascontiguousarray(rows.vectors, dtype=np.float32).reshape(-1))
    columns: dict[str, Any] = {
        "index": pa.array(rows.index, type=pa.int64()),
        "id": pa.array(rows.ids, type=pa.string()),
    }
    if rows.labels is not None:
        columns["label"] = pa.array(rows.labels, type=pa.int64())
    columns["vector"] = pa.FixedSizeListArray.from_arrays(flat, dim)
    pq.write_table(pa.table(columns), f)


def _read_parquet(path: Path, dim: int) -> PartRows:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    vector = table.column("vector").combine_chunks()
    flat = vector.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    labels = None
    if "label" in table.column_names:
        labels = table.column("label").to_numpy().astype(np.int64)
    return PartRows(
        table.column("index").to_numpy().astype(np.int64),
        table.column("id").to_pylist(),
        flat.reshape(-1, dim),
        labels,
    )
