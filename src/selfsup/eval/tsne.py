"""2-D t-SNE maps of frozen features, and a labelled scatter plot of them.

The features are reduced to 50 dimensions with PCA first: t-SNE's neighbour search then costs
a fraction of the full width and the map barely changes. Above ``max_items`` a fixed-seed
subsample is embedded, so a map of a big split still takes seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

PCA_DIMS = 50


def tsne_subsample(n: int, max_items: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_items`` of ``n`` items, the same for the same seed."""
    if max_items < 1:
        raise ValueError(f"max_items must be >= 1, got {max_items}")
    if n <= max_items:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_items, replace=False))


def compute_tsne(
    features: torch.Tensor,
    seed: int = 0,
    perplexity: float = 30.0,
    max_items: int = 5000,
) -> np.ndarray:
    """t-SNE coordinates ``[n, 2]`` of ``features`` ``[N, D]``, n = min(N, max_items).

    Rows beyond ``max_items`` are dropped by :func:`tsne_subsample` with the same ``seed``, so a
    caller can pick the matching labels. Perplexity is lowered to ``(n - 1) / 3`` for tiny sets.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if features.ndim != 2:
        raise ValueError(f"features must be [N, D], got shape {tuple(features.shape)}")
    if len(features) < 4:
        raise ValueError(f"t-SNE needs at least 4 items, got {len(features)}")
    if perplexity <= 0:
        raise ValueError(f"perplexity must be > 0, got {perplexity}")
    x = features.detach().float().cpu().numpy()
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or inf")
    x = x[tsne_subsample(len(x), max_items, seed)]
    if x.shape[1] > PCA_DIMS and len(x) > PCA_DIMS:
        x = PCA(n_components=PCA_DIMS, random_state=seed).fit_transform(x)
    tsne = TSNE(
        n_components=2,
        perplexity=min(perplexity, (len(x) - 1) / 3),
        init="pca",
        random_state=seed,
    )
    return np.asarray(tsne.fit_transform(x), dtype=np.float32)


def save_tsne_plot(
    points: np.ndarray,
    labels: np.ndarray | torch.Tensor | None,
    path: str | Path,
    title: str = "t-SNE of features",
    class_names: Sequence[str] | None = None,
) -> None:
    """Scatter ``points`` ``[n, 2]`` coloured by ``labels`` (legend per class) as a PNG; the
    legend says ``class_names[label]`` where given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must be [n, 2], got shape {pts.shape}")
    lab = np.full(len(pts), -1) if labels is None else np.asarray(labels).reshape(-1)
    if len(lab) != len(pts):
        raise ValueError(f"got {len(lab)} labels for {len(pts)} points")
    fig, ax = plt.subplots(figsize=(6, 5.2), dpi=110)
    classes = np.unique(lab)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for i, c in enumerate(classes):
        sel = lab == c
        name = "unlabelled" if c < 0 else class_name(int(c), class_names)
        ax.scatter(pts[sel, 0], pts[sel, 1], s=7, color=cmap(i % cmap.N), label=name, alpha=0.8)
    if len(classes) <= 20:
        ax.legend(markerscale=2.5, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def class_name(label: int, class_names: Sequence[str] | None) -> str:
    """``class_names[label]`` when it exists, else the label number."""
    if class_names is not None and 0 <= label < len(class_names):
        return str(class_names[label])
    return str(label)
