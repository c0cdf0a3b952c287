"""The multi-crop recipe: 2 global + V local views, each crop scale drawn in its range."""

from __future__ import annotations

import pytest
import torch

from selfsup.augment import ImageViews, create_augment


def test_multicrop_view_count_and_sizes() -> None:
    views = create_augment("multicrop", global_size=24, local_size=12, num_local=3)
    assert isinstance(views, ImageViews) and views.num_views == 5
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    out = views(x, torch.Generator().manual_seed(0))
    assert [tuple(v.shape) for v in out] == [(4, 3, 24, 24)] * 2 + [(4, 3, 12, 12)] * 3
    assert all(torch.isfinite(v).all() for v in out)


def test_multicrop_scales_land_in_their_ranges() -> None:
    views = create_augment(
        "multicrop", num_local=2, global_scale=(0.4, 1.0), local_scale=(0.05, 0.2)
    )
    assert isinstance(views, ImageViews)
    params = views.sample_params(512, 32, 32, "cpu", torch.Generator().manual_seed(0))
    ranges = [(0.4, 1.0)] * 2 + [(0.05, 0.2)] * 2
    for p, (lo, hi) in zip(params, ranges, strict=True):
        area = p.box[:, 2] * p.box[:, 3] / (32 * 32)  # crop area as a fraction of the image
        assert float(area.min()) >= lo - 1e-4 and float(area.max()) <= hi + 1e-4
        # Spread over the range, not stuck at one end (512 draws).
        assert float(area.max() - area.min()) > 0.5 * (hi - lo)


def test_multicrop_without_local_views_and_bad_count() -> None:
    assert create_augment("multicrop", num_local=0).num_views == 2
    with pytest.raises(ValueError, match="num_local"):
        create_augment("multicrop", num_local=-1)
