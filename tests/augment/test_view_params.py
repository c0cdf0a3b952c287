"""Per-sample random parameters: ranges, rates and the spec's own validation."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.augment import ViewParams, ViewSpec, sample_view_params

N = 20_000  # samples per rate check: the std of a rate estimate is <= 0.0036


def draw(spec: ViewSpec, height: int = 32, width: int = 32, seed: int = 0) -> ViewParams:
    gen = torch.Generator().manual_seed(seed)
    return sample_view_params(spec, N, height, width, torch.device("cpu"), gen)


def test_crop_scale_and_ratio_drawn_within_ranges() -> None:
    spec = ViewSpec(32, scale=(0.2, 0.6), ratio=(0.5, 2.0))
    p = draw(spec, 40, 50)
    x0, y0, w, h = p.box.unbind(1)
    area = w * h / (40 * 50)
    assert area.min() >= 0.2 - 1e-5 and area.max() <= 0.6 + 1e-5
    ratio = w / h
    assert ratio.min() >= 0.5 - 1e-5 and ratio.max() <= 2.0 + 1e-5
    assert (x0 >= 0).all() and (y0 >= 0).all()
    assert (x0 + w <= 50 + 1e-4).all() and (y0 + h <= 40 + 1e-4).all()
    assert area.min() < 0.21 and area.max() > 0.59  # spread over the range, not a constant


def test_crop_area_uniform_and_ratio_log_uniform_when_every_try_fits() -> None:
    # On 40x40 with these ranges the largest box side is 35.8 px, so no try is rejected and the
    # draws are exactly uniform in area and log-uniform in ratio.
    p = draw(ViewSpec(32, scale=(0.2, 0.6), ratio=(3 / 4, 4 / 3)), 40, 40)
    area = p.box[:, 2] * p.box[:, 3] / 1600
    log_ratio = torch.log(p.box[:, 2] / p.box[:, 3])
    assert abs(area.mean().item() - 0.4) < 0.005
    assert abs(area.var().item() - 0.4**2 / 12) < 0.001  # variance of U(0.2, 0.6)
    assert abs(log_ratio.mean().item()) < 0.005


def test_crop_falls_back_to_centre_box_when_no_try_fits() -> None:
    # A 10:1 strip with scale 1 and ratios near 1: no try fits, so the centre crop of ratio 4/3
    # (the closest allowed) is used, exactly as torchvision does.
    spec = ViewSpec(32, scale=(1.0, 1.0))
    p = draw(spec, 10, 100)
    expect = torch.tensor([(100 - 10 * 4 / 3) / 2, 0.0, 10 * 4 / 3, 10.0])
    torch.testing.assert_close(p.box[0], expect)
    assert (p.box == p.box[0]).all()


def test_flip_rate() -> None:
    p = draw(ViewSpec(32, flip_p=0.5))
    assert abs(p.flip.float().mean().item() - 0.5) < 0.02


def test_jitter_factors_within_strengths_and_identity_when_not_applied() -> None:
    s = 0.5
    spec = ViewSpec(32, brightness=0.8 * s, contrast=0.8 * s, saturation=0.8 * s, hue=0.2 * s)
    p = draw(spec)
    assert abs(p.jitter.float().mean().item() - spec.jitter_p) < 0.02
    on, off = p.jitter, ~p.jitter
    for f in (p.brightness, p.contrast, p.saturation):
        assert f[on].min() >= 1 - 0.8 * s and f[on].max() <= 1 + 0.8 * s
        assert abs(f[on].mean().item() - 1.0) < 0.01
        assert (f[off] == 1.0).all()
    assert p.hue[on].abs().max() <= 0.2 * s and p.hue[on].abs().max() > 0.19 * s
    assert (p.hue[off] == 0.0).all()


def test_brightness_factor_is_never_negative() -> None:
    p = draw(ViewSpec(32, brightness=1.5, jitter_p=1.0))
    assert p.brightness.min() >= 0.0 and p.brightness.max() <= 2.5


def test_gray_blur_solarize_rates_and_sigma_range() -> None:
    spec = ViewSpec(32, gray_p=0.2, blur_p=0.3, solarize_p=0.1, blur_sigma=(0.5, 1.5))
    p = draw(spec)
    assert abs(p.gray.float().mean().item() - 0.2) < 0.02
    assert abs(p.solarize.float().mean().item() - 0.1) < 0.02
    blurred = p.blur_sigma > 0
    assert abs(blurred.float().mean().item() - 0.3) < 0.02
    assert p.blur_sigma[blurred].min() >= 0.5 and p.blur_sigma[blurred].max() <= 1.5


def test_parameters_differ_across_the_batch_and_order_is_a_permutation() -> None:
    p = draw(ViewSpec(32))
    assert p.box[:, 2].unique().numel() > N // 2
    assert p.brightness[p.jitter].unique().numel() > N // 2
    assert sorted(p.order) == [0, 1, 2, 3]


def test_same_seed_same_params_different_seed_different() -> None:
    a, b, c = draw(ViewSpec(32), seed=1), draw(ViewSpec(32), seed=1), draw(ViewSpec(32), seed=2)
    assert torch.equal(a.box, b.box) and torch.equal(a.hue, b.hue)
    assert not torch.equal(a.box, c.box)


def test_rotation_angles_uniform_within_range_and_other_draws_unchanged() -> None:
    plain, turned = draw(ViewSpec(32), seed=3), draw(ViewSpec(32, rotate_degrees=15.0), seed=3)
    assert plain.angle is None and turned.angle is not None
    assert turned.angle.abs().max() <= 15.0
    assert (
        abs(turned.angle.mean().item()) < 0.2 and abs(turned.angle.std().item() - 15 / 3**0.5) < 0.2
    )
    # The turn is drawn after everything else: a spec's crops and colours keep their stream.
    assert torch.equal(plain.box, turned.box) and torch.equal(plain.hue, turned.hue)


def test_kernel_size_is_about_ten_percent_and_odd() -> None:
    assert ViewSpec(224).kernel_size == 23
    assert ViewSpec(96).kernel_size == 9
    assert ViewSpec(32).kernel_size == 3
    assert ViewSpec(32, blur_kernel=5).kernel_size == 5
    assert math.isclose(ViewSpec(32).log_ratio[1], math.log(4 / 3))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 0}, "size"),
        ({"scale": (0.5, 0.2)}, "scale"),
        ({"ratio": (0.0, 1.0)}, "ratio"),
        ({"flip_p": 1.5}, "flip_p"),
        ({"brightness": -0.1}, "brightness"),
        ({"hue": 0.7}, "hue"),
        ({"blur_sigma": (0.0, 1.0)}, "blur_sigma"),
        ({"blur_kernel": 4}, "blur_kernel"),
        ({"hue_space": "lab"}, "hue_space"),
        ({"rotate_degrees": 200.0}, "rotate_degrees"),
        ({"rotate_degrees": -5.0}, "rotate_degrees"),
    ],
)
def test_bad_spec_values_raise_one_line_errors(kwargs: dict, message: str) -> None:
    args = {"size": 32, **kwargs}
    with pytest.raises(ValueError, match=message) as err:
        ViewSpec(**args)
    assert "\n" not in str(err.value)
