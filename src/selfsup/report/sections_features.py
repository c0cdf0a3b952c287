"""Feature pictures for the report: t-SNE of validation features and a nearest-neighbour grid.

Both come from one feature extraction with the run's last checkpoint (validation split as
queries, a capped slice of the training split as the bank). Any failure is returned as a note.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset

from selfsup.eval.features import extract_features
from selfsup.eval.knn import knn_neighbors
from selfsup.eval.tsne import compute_tsne, save_tsne_plot, tsne_subsample
from selfsup.registry import ConfigError
from selfsup.report.plots import neighbour_grid

log = logging.getLogger("selfsup.report")


@dataclass
class FeaturePictures:
    """PNG bytes of the t-SNE map and neighbour grid (None when skipped, with a note)."""

    tsne: bytes | None = None
    neighbours: bytes | None = None
    checkpoint: str | None = None
    notes: list[str] = field(default_factory=list)


def feature_pictures(
    run_dir: Path, max_items: int = 1000, grid_queries: int = 6, seed: int = 0
) -> FeaturePictures:
    """Extract features from the run's last checkpoint and draw both pictures."""
    from selfsup.engine.build import build_split
    from selfsup.engine.load import load_method, resolve_checkpoint

    out = FeaturePictures()
    try:
        ckpt = resolve_checkpoint(run_dir)
        method, cfg = load_method(ckpt)
        val_name = cfg.data.val_split
        if not val_name:
            out.notes.append("the config has no data.val_split: t-SNE and neighbours skipped")
            return out
        val = _capped(build_split(cfg, val_name), max_items, seed)
        bank = _capped(build_split(cfg, cfg.data.train_split), max_items, seed + 1)
        val_f = extract_features(method.embed, val, batch_size=256)
        bank_f = extract_features(method.embed, bank, batch_size=256)
    except (ConfigError, ValueError, OSError, RuntimeError, KeyError) as e:
        out.notes.append(f"features unavailable ({_first_line(e)}): t-SNE and neighbours skipped")
        return out
    out.checkpoint = ckpt.name
    names = dataset_classes(val)
    out.tsne = _tsne_png(val_f.features, val_f.labels, names, out.notes, seed)
    out.neighbours = _grid_png(
        val, bank, val_f.features, bank_f.features, grid_queries, names, out.notes
    )
    return out


def dataset_classes(dataset: Any) -> list[str] | None:
    """Class names of a dataset (image folders keep their sub-folder names), looking through
    ``Subset`` wrappers; None when it has none."""
    while dataset is not None:
        classes = getattr(dataset, "classes", None)
        if classes:
            return [str(c) for c in classes]
        dataset = getattr(dataset, "dataset", None)
    return None


def _capped(dataset: Any, max_items: int, seed: int) -> Any:
    n = len(dataset)
    return (
        dataset if n <= max_items else Subset(dataset, tsne_subsample(n, max_items, seed).tolist())
    )


def _tsne_png(
    feats: torch.Tensor,
    labels: torch.Tensor,
    names: list[str] | None,
    notes: list[str],
    seed: int,
) -> bytes | None:
    try:
        points = compute_tsne(feats, seed=seed)
    except ValueError as e:
        notes.append(f"t-SNE skipped: {_first_line(e)}")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tsne.png"
        save_tsne_plot(
            points, labels.numpy(), path, title="t-SNE of validation features", class_names=names
        )
        return path.read_bytes()


def _grid_png(
    queries: Any,
    bank: Any,
    q_feats: torch.Tensor,
    b_feats: torch.Tensor,
    n: int,
    names: list[str] | None,
    notes: list[str],
) -> bytes | None:
    first = queries[0]["input"]
    if not (isinstance(first, torch.Tensor) and first.ndim == 3 and first.shape[0] in (1, 3)):
        notes.append("neighbour grid skipped: inputs are not images")
        return None
    pick = np.linspace(0, len(queries) - 1, num=min(n, len(queries))).round().astype(int)
    sims, idx = knn_neighbors(b_feats, q_feats[torch.as_tensor(pick)], k=5)
    items = [queries[int(i)] for i in pick]
    hits = [[bank[int(j)] for j in row] for row in idx.tolist()]
    return neighbour_grid(
        [it["input"] for it in items],
        [int(it.get("label", -1)) for it in items],
        [[h["input"] for h in row] for row in hits],
        [[int(h.get("label", -1)) for h in row] for row in hits],
        sims.tolist(),
        names,
    )


def _first_line(e: BaseException) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0]
