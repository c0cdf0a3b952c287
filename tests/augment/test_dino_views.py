"""The DINO recipe: 2 global + 6 local crops, blur 1.0 / 0.1 / 0.5, solarize on global 2 only."""

from __future__ import annotations

import pytest
import torch

from selfsup.augment import ImageViews, create_augment

N = 20_000  # draws per rate check: a rate's std is <= 0.0036, so +-0.02 is > 5 sigma


def _params(**kwargs: object) -> list:
    views = create_augment("dino", **kwargs)
    assert isinstance(views, ImageViews)
    return views.sample_params(N, 32, 32, "cpu", torch.Generator().manual_seed(0))


def test_dino_view_count_sizes_and_order() -> None:
    views = create_augment("dino", global_size=24, local_size=12, num_local=3)
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    out = views(x, torch.Generator().manual_seed(0))
    assert [tuple(v.shape) for v in out] == [(4, 3, 24, 24)] * 2 + [(4, 3, 12, 12)] * 3
    assert all(torch.isfinite(v).all() for v in out)


def test_dino_blur_and_solarize_rates_per_view() -> None:
    params = _params()
    assert len(params) == 8
    blur = [float((p.blur_sigma > 0).float().mean()) for p in params]
    solar = [float(p.solarize.float().mean()) for p in params]
    expected_blur = [1.0, 0.1] + [0.5] * 6
    expected_solar = [0.0, 0.2] + [0.0] * 6
    for got, want in zip(blur, expected_blur, strict=True):
        assert abs(got - want) <= 0.02
    for got, want in zip(solar, expected_solar, strict=True):
        assert abs(got - want) <= 0.02
    for p in params:  # sigma drawn in the paper's (0.1, 2.0) where blurred
        sigma = p.blur_sigma[p.blur_sigma > 0]
        assert float(sigma.min()) >= 0.1 - 1e-6 and float(sigma.max()) <= 2.0 + 1e-6
        assert abs(float(p.flip.float().mean()) - 0.5) <= 0.02


def test_dino_crop_scales_and_colour_strengths() -> None:
    params = _params(global_scale=(0.4, 1.0), local_scale=(0.05, 0.4))
    for i, p in enumerate(params):
        lo, hi = (0.4, 1.0) if i < 2 else (0.05, 0.4)
        area = p.box[:, 2] * p.box[:, 3] / (32 * 32)
        assert float(area.min()) >= lo - 1e-4 and float(area.max()) <= hi + 1e-4
        assert float(area.min()) < lo + 0.01 and float(area.max()) > hi - 0.01
        assert abs(float(p.jitter.float().mean()) - 0.8) <= 0.02
        assert abs(float(p.gray.float().mean()) - 0.2) <= 0.02
        on = p.jitter
        # BYOL/DINO strengths: brightness, contrast 0.4; saturation 0.2; hue 0.1 turn.
        for factor, s in ((p.brightness, 0.4), (p.contrast, 0.4), (p.saturation, 0.2)):
            assert float(factor[on].min()) >= 1 - s - 1e-6 and float(factor[on].max()) <= 1 + s
            assert float(factor[on].min()) < 1 - s + 0.01 and float(factor[on].max()) > 1 + s - 0.01
            assert (factor[~on] == 1).all()
        assert float(p.hue.abs().max()) <= 0.1 + 1e-6 and float(p.hue.abs().max()) > 0.099


def test_dino_bad_arguments_raise_one_line_errors() -> None:
    with pytest.raises(ValueError, match="num_local"):
        create_augment("dino", num_local=-1)
    with pytest.raises(ValueError, match="blur_p needs 3 values"):
        create_augment("dino", blur_p=(1.0, 0.1))
