"""The BYOL recipe: two asymmetric views with the paper's blur and solarize probabilities."""

from __future__ import annotations

import torch

from selfsup.augment import ImageViews, create_augment


def test_byol_specs_follow_the_paper() -> None:
    views = create_augment("byol", size=24)
    assert isinstance(views, ImageViews)
    a, b = views.specs
    assert (a.blur_p, a.solarize_p) == (1.0, 0.0)
    assert (b.blur_p, b.solarize_p) == (0.1, 0.2)
    for spec in (a, b):
        assert (spec.brightness, spec.contrast, spec.saturation, spec.hue) == (0.4, 0.4, 0.2, 0.1)
        assert (spec.jitter_p, spec.gray_p, spec.size) == (0.8, 0.2, 24)


def test_byol_asymmetry_shows_in_the_drawn_parameters() -> None:
    views = create_augment("byol", blur_p_a=1.0, blur_p_b=0.0, solarize_p_b=1.0)
    gen = torch.Generator().manual_seed(0)
    pa, pb = views.sample_params(64, 32, 32, "cpu", gen)
    assert bool(pa.blur_sigma.gt(0).all()) and bool(pb.solarize.all())
    assert not bool(pa.solarize.any())
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    out = views(x, torch.Generator().manual_seed(1))
    assert [tuple(v.shape) for v in out] == [(4, 3, 32, 32)] * 2
