"""Feature pictures for the report: t-SNE of validation features and a nearest-neighbour grid
(audio: spectrograms of the neighbours, and a few validation clips' waveforms and spectrograms).

Both come from one feature extraction by the caller's embedding function (validation items as
queries, a capped slice of the training items as the bank); the report never loads checkpoints
or builds datasets itself. Any failure is returned as a note.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset, default_collate

from selfsup.eval.features import extract_features
from selfsup.eval.knn import knn_neighbors
from selfsup.eval.tsne import compute_tsne, save_tsne_plot, tsne_subsample
from selfsup.report.crossmodal_matches import CrossModalMatches
from selfsup.report.plots import neighbour_grid
from selfsup.report.sections_audio import clips_figure, is_audio_item, neighbour_spectrograms


@dataclass
class FeaturePictures:
    """PNG bytes of the t-SNE map and neighbour grid (None when skipped, with a note)."""

    tsne: bytes | None = None
    neighbours: bytes | None = None
    clips: bytes | None = None  # audio runs: a few validation clips, waveform + log-mel
    crossmodal: CrossModalMatches | None = None  # two-tower runs: queries and their matches
    checkpoint: str | None = None
    notes: list[str] = field(default_factory=list)


def feature_pictures(
    embed: Callable[[torch.Tensor], torch.Tensor],
    val: Any,
    bank: Any,
    checkpoint: str | None = None,
    max_items: int = 1000,
    grid_queries: int = 6,
    seed: int = 0,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    sample_rate: int | None = None,
) -> FeaturePictures:
    """Embed capped slices of ``val`` (queries) and ``bank`` and draw both pictures.

    ``collate_fn``: the modality's batching (audio clips are padded); ``sample_rate``: an audio
    encoder's, to draw clips and their spectrograms instead of an image grid."""
    out = FeaturePictures(checkpoint=checkpoint)
    val, bank = _capped(val, max_items, seed), _capped(bank, max_items, seed + 1)
    batching = collate_fn if collate_fn is not None else default_collate
    try:
        val_f = extract_features(embed, val, batch_size=256, collate_fn=batching)
        bank_f = extract_features(embed, bank, batch_size=256, collate_fn=batching)
    except (ValueError, RuntimeError, KeyError) as e:
        out.checkpoint = None
        out.notes.append(f"features unavailable ({first_line(e)}): t-SNE and neighbours skipped")
        return out
    names = dataset_classes(val)
    out.tsne = _tsne_png(val_f.features, val_f.labels, names, out.notes, seed)
    if sample_rate is not None and is_audio_item(val[0]["input"]):
        out.neighbours = _audio_grid_png(
            val, bank, val_f.features, bank_f.features, grid_queries, names, sample_rate
        )
        pick = _spread(len(val), 4)
        items = [val[int(i)] for i in pick]
        out.clips = clips_figure(
            [it["input"] for it in items], [int(it.get("label", -1)) for it in items],
            sample_rate, names,
        )  # fmt: skip
        return out
    out.neighbours = _grid_png(
        val, bank, val_f.features, bank_f.features, grid_queries, names, out.notes
    )
    return out


def _spread(n: int, count: int) -> np.ndarray:
    """``count`` indices spread evenly over ``range(n)``."""
    return np.linspace(0, n - 1, num=min(count, n)).round().astype(int)


def _neighbours(
    queries: Any, bank: Any, q_feats: torch.Tensor, b_feats: torch.Tensor, n: int
) -> tuple[list[Any], list[int], list[list[Any]], list[list[int]], list[list[float]]]:
    """``n`` queries spread over the split and their 5 nearest bank items: query inputs and
    labels, neighbour inputs and labels, similarities (what both neighbour pictures draw)."""
    pick = _spread(len(queries), n)
    sims, idx = knn_neighbors(b_feats, q_feats[torch.as_tensor(pick)], k=5)
    items = [queries[int(i)] for i in pick]
    hits = [[bank[int(j)] for j in row] for row in idx.tolist()]
    return (
        [it["input"] for it in items],
        [int(it.get("label", -1)) for it in items],
        [[h["input"] for h in row] for row in hits],
        [[int(h.get("label", -1)) for h in row] for row in hits],
        sims.tolist(),
    )


def _audio_grid_png(
    queries: Any,
    bank: Any,
    q_feats: torch.Tensor,
    b_feats: torch.Tensor,
    n: int,
    names: list[str] | None,
    sample_rate: int,
) -> bytes:
    return neighbour_spectrograms(
        *_neighbours(queries, bank, q_feats, b_feats, n), sample_rate, names
    )


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
        notes.append(f"t-SNE skipped: {first_line(e)}")
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
    return neighbour_grid(*_neighbours(queries, bank, q_feats, b_feats, n), names)


def first_line(e: BaseException) -> str:
    """The first line of an error's message (its type name if it has none)."""
    return (str(e).splitlines() or [type(e).__name__])[0]
