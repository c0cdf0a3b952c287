"""ImageViews end to end: shapes, seeding, input checks, gray input, recipes, registry."""

from __future__ import annotations

import pytest
import torch

from selfsup.augment import AUGMENTS, ImageViews, ViewSpec, create_augment
from selfsup.augment.image import CIFAR_MEAN, CIFAR_STD
from selfsup.registry import ConfigError

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def images(b: int = 8, c: int = 3, h: int = 32, w: int = 32, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, c, h, w), generator=gen, dtype=torch.uint8)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_views_are_float32_of_each_spec_size() -> None:
    views = ImageViews([ViewSpec(24), ViewSpec(24), ViewSpec(12, scale=(0.05, 0.4))], MEAN, STD)
    out = views(images(5, h=40, w=30), seeded(0))
    assert [tuple(v.shape) for v in out] == [(5, 3, 24, 24), (5, 3, 24, 24), (5, 3, 12, 12)]
    assert all(v.dtype == torch.float32 for v in out)
    assert views.num_views == 3
    assert views.state_dict() == {}  # recipe constants stay out of checkpoints


def test_same_seed_same_views_different_seed_different() -> None:
    aug = create_augment("simclr")
    x = images()
    a, b, c = aug(x, seeded(3)), aug(x, seeded(3)), aug(x, seeded(4))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not torch.allclose(a[0], c[0])
    assert not torch.allclose(a[0], a[1])  # the two views of one image differ


def test_samples_get_different_parameters() -> None:
    # The same image repeated: any difference between outputs comes from per-sample draws.
    x = images(1).expand(8, -1, -1, -1).contiguous()
    (v,) = ImageViews([ViewSpec(32)], MEAN, STD)(x, seeded(0))
    flat = v.flatten(1)
    assert torch.cdist(flat, flat).fill_diagonal_(1.0).min() > 1e-3


def test_render_replays_sampled_params() -> None:
    views = ImageViews([ViewSpec(16, blur_p=0.5, solarize_p=0.5)], MEAN, STD)
    x = images(6)
    params = views.sample_params(6, 32, 32, "cpu", seeded(7))
    assert torch.equal(views.render(x, params)[0], views(x, seeded(7))[0])


def test_gray_samples_have_equal_channels_after_unnormalizing() -> None:
    spec = ViewSpec(16, gray_p=0.5)
    views = ImageViews([spec], MEAN, STD)
    x = images(64)
    (params,) = views.sample_params(64, 32, 32, "cpu", seeded(1))
    (v,) = views.render(x, [params])
    raw = v * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)
    gray = raw[params.gray]
    assert 0 < len(gray) < 64
    torch.testing.assert_close(gray[:, 0], gray[:, 1], atol=1e-6, rtol=0)
    torch.testing.assert_close(gray[:, 1], gray[:, 2], atol=1e-6, rtol=0)
    color = raw[~params.gray]
    assert (color[:, 0] - color[:, 1]).abs().max() > 0.1


def test_one_channel_input_equals_gray_rgb_input() -> None:
    # 1-channel images are processed as one channel and replicated at normalisation; this must
    # equal feeding the same gray image as 3 equal channels.
    gray = images(6, c=1)
    views = ImageViews([ViewSpec(16, blur_p=0.5, solarize_p=0.3)], MEAN, STD)
    (one,) = views(gray, seeded(2))
    (three,) = views(gray.expand(-1, 3, -1, -1).contiguous(), seeded(2))
    assert one.shape == (6, 3, 16, 16)
    torch.testing.assert_close(one, three, atol=2e-3, rtol=0)


def test_one_channel_with_one_value_mean_stays_one_channel() -> None:
    (v,) = ImageViews([ViewSpec(16)], (0.5,), (0.25,))(images(2, c=1), seeded(0))
    assert v.shape == (2, 1, 16, 16)


def test_eval_view_is_deterministic_resize_and_normalize() -> None:
    views = ImageViews([ViewSpec(16), ViewSpec(8)], MEAN, STD)
    x = images(2, h=32, w=40)
    out = views.eval_view(x)
    assert out.shape == (2, 3, 16, 16)
    assert torch.equal(out, views.eval_view(x))
    # Same size: exactly the normalised input.
    same = ImageViews([ViewSpec(32)], MEAN, STD).eval_view(images(2))
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    torch.testing.assert_close(same, (images(2).float() / 255 - mean) / std, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.rand(2, 3, 8, 8), "uint8"),
        (torch.zeros(3, 8, 8, dtype=torch.uint8), r"\[B, C, H, W\]"),
        (torch.zeros(2, 4, 8, 8, dtype=torch.uint8), "1 or 3 channels"),
        ([[1, 2]], "tensor"),
    ],
)
def test_bad_input_is_a_one_line_value_error(x: object, message: str) -> None:
    views = create_augment("simclr", size=8)
    for call in (lambda: views(x), lambda: views.eval_view(x)):
        with pytest.raises(ValueError, match=message) as err:
            call()
        assert "\n" not in str(err.value)


def test_bad_construction_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ImageViews([], MEAN, STD)
    with pytest.raises(ValueError, match="1 or 3 values"):
        ImageViews([ViewSpec(8)], (0.5, 0.5), (0.5, 0.5))
    with pytest.raises(ValueError, match="> 0"):
        ImageViews([ViewSpec(8)], MEAN, (0.2, 0.0, 0.3))
    with pytest.raises(ValueError, match="3-channel"):
        ImageViews([ViewSpec(8)], (0.5,), (0.2,))(images(1), seeded(0))


def test_simclr_recipe_is_registered_with_a_typed_schema() -> None:
    assert "simclr" in AUGMENTS
    params = AUGMENTS.params("simclr")
    assert params["size"].annotation is int and params["color_strength"].default == 0.5
    AUGMENTS.validate("simclr", {"size": 64, "color_strength": 1.0}, "augment")
    with pytest.raises(ConfigError, match="color_strength"):
        AUGMENTS.validate("simclr", {"colour_strength": 1.0}, "augment")
    views = create_augment("simclr", size=64, color_strength=1.0, blur_p=0.5)
    assert isinstance(views, ImageViews) and views.num_views == 2
    spec = views.specs[0]
    assert views.specs[1] == spec and spec.size == 64 and spec.blur_p == 0.5
    assert (spec.brightness, spec.contrast, spec.saturation, spec.hue) == pytest.approx(
        (0.8, 0.8, 0.8, 0.2)
    )
    torch.testing.assert_close(views.mean.view(3), torch.tensor(CIFAR_MEAN))
    torch.testing.assert_close(views.std.view(3), torch.tensor(CIFAR_STD))


def test_asymmetric_and_multi_crop_recipes_are_lists_of_specs() -> None:
    # BYOL-style asymmetric pair and a DINO-style 2 global + 3 local crop set.
    byol = [ViewSpec(16, blur_p=1.0), ViewSpec(16, blur_p=0.1, solarize_p=0.2)]
    dino = [ViewSpec(16, scale=(0.4, 1.0))] * 2 + [ViewSpec(8, scale=(0.05, 0.4))] * 3
    x = images(4)
    assert len(ImageViews(byol, MEAN, STD)(x, seeded(0))) == 2
    shapes = [v.shape[-1] for v in ImageViews(dino, MEAN, STD)(x, seeded(0))]
    assert shapes == [16, 16, 8, 8, 8]
