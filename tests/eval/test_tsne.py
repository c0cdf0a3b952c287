"""t-SNE: fixed-seed subsampling, separated clusters stay separated, and the plot is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from selfsup.eval.tsne import compute_tsne, save_tsne_plot, tsne_subsample


def test_two_far_clusters_stay_apart_and_subsample_is_seeded(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(60, 80, generator=g)
    b = torch.randn(60, 80, generator=g) + 30.0
    feats, labels = torch.cat([a, b]), np.array([0] * 60 + [1] * 60)
    pts = compute_tsne(feats, seed=1, perplexity=10, max_items=100)
    keep = tsne_subsample(120, 100, seed=1)
    assert pts.shape == (100, 2) and len(np.unique(keep)) == 100
    lab = labels[keep]
    c0, c1 = pts[lab == 0].mean(0), pts[lab == 1].mean(0)
    spread = max(
        np.linalg.norm(pts[lab == i] - pts[lab == i].mean(0), axis=1).max() for i in (0, 1)
    )
    assert np.linalg.norm(c0 - c1) > spread  # every point closer to its own centre
    np.testing.assert_array_equal(keep, tsne_subsample(120, 100, seed=1))
    save_tsne_plot(pts, lab, tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="NaN"):
        compute_tsne(torch.full((10, 3), float("nan")))
    with pytest.raises(ValueError, match="at least 4"):
        compute_tsne(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"\[n, 2\]"):
        save_tsne_plot(np.zeros((5, 3)), None, "x.png")
