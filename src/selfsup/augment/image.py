"""Registered image view recipes. Each is a list of ``ViewSpec`` handed to ``ImageViews``."""

from __future__ import annotations

import dataclasses

from selfsup.augment.registry import register_augment
from selfsup.augment.spec import ViewSpec
from selfsup.augment.views import ImageViews

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.247, 0.243, 0.261)


@dataclasses.dataclass(frozen=True)
class Colour:
    """Colour-jitter strengths of a recipe (see :class:`ViewSpec`)."""

    brightness: float
    contrast: float
    saturation: float
    hue: float


# BYOL's colour jitter, which DINO reuses (Grill et al. 2020, table 6).
BYOL_COLOUR = Colour(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)


def simclr_colour(s: float) -> Colour:
    """SimCLR's colour jitter at strength s: brightness, contrast, saturation 0.8s, hue 0.2s."""
    return Colour(brightness=0.8 * s, contrast=0.8 * s, saturation=0.8 * s, hue=0.2 * s)


def crop_view(
    size: int,
    scale: tuple[float, float],
    colour: Colour,
    flip_p: float,
    jitter_p: float,
    gray_p: float,
    blur_p: float,
) -> ViewSpec:
    """A random-resized-crop view with the given colour jitter (the recipes' common part)."""
    return ViewSpec(
        size=size,
        scale=(float(scale[0]), float(scale[1])),
        flip_p=flip_p,
        jitter_p=jitter_p,
        gray_p=gray_p,
        blur_p=blur_p,
        brightness=colour.brightness,
        contrast=colour.contrast,
        saturation=colour.saturation,
        hue=colour.hue,
    )


@register_augment("simclr", modality="image")
def simclr(
    size: int = 32,
    scale_min: float = 0.08,
    color_strength: float = 0.5,
    jitter_p: float = 0.8,
    gray_p: float = 0.2,
    blur_p: float = 0.0,
    flip_p: float = 0.5,
    mean: tuple[float, float, float] = CIFAR_MEAN,
    std: tuple[float, float, float] = CIFAR_STD,
    rotate_degrees: float = 0.0,
) -> ImageViews:
    """SimCLR's two identically distributed views (Chen et al. 2020, appendix A).

    Random resized crop (scale ``[scale_min, 1]``, ratio 3/4-4/3), flip, colour jitter with
    strength s (brightness, contrast, saturation 0.8s, hue 0.2s) with probability ``jitter_p``,
    grayscale with ``gray_p``, Gaussian blur (sigma 0.1-2, kernel ~10% of size) with ``blur_p``.
    The paper uses s = 1 and blur 0.5 on ImageNet; CIFAR recipes use s = 0.5 and no blur.
    ``rotate_degrees`` adds a random turn in ``[-d, d]`` after the crop (0: none, as the paper).
    """
    colour = simclr_colour(color_strength)
    spec = crop_view(size, (scale_min, 1.0), colour, flip_p, jitter_p, gray_p, blur_p)
    spec = dataclasses.replace(spec, rotate_degrees=float(rotate_degrees))
    return ImageViews([spec, spec], mean=mean, std=std)


@register_augment("byol", modality="image")
def byol(
    size: int = 32,
    scale_min: float = 0.08,
    jitter_p: float = 0.8,
    gray_p: float = 0.2,
    blur_p_a: float = 1.0,
    blur_p_b: float = 0.1,
    solarize_p_a: float = 0.0,
    solarize_p_b: float = 0.2,
    flip_p: float = 0.5,
    mean: tuple[float, float, float] = CIFAR_MEAN,
    std: tuple[float, float, float] = CIFAR_STD,
) -> ImageViews:
    """BYOL's two asymmetric views (Grill et al. 2020, table 6).

    Both: random resized crop (scale ``[scale_min, 1]``), flip, colour jitter (brightness 0.4,
    contrast 0.4, saturation 0.2, hue 0.1) with ``jitter_p``, grayscale with ``gray_p``. View a
    is blurred with probability ``blur_p_a`` (1.0) and solarized with ``solarize_p_a`` (0.0);
    view b with ``blur_p_b`` (0.1) and ``solarize_p_b`` (0.2). At 32 px a blur of ~3 px kernel
    mostly destroys detail, so CIFAR recipes usually set both blur probabilities to 0.
    """
    view_a = crop_view(size, (scale_min, 1.0), BYOL_COLOUR, flip_p, jitter_p, gray_p, blur_p_a)
    view_a = dataclasses.replace(view_a, solarize_p=solarize_p_a)
    view_b = dataclasses.replace(view_a, blur_p=blur_p_b, solarize_p=solarize_p_b)
    return ImageViews([view_a, view_b], mean=mean, std=std)


@register_augment("multicrop", modality="image")
def multicrop(
    global_size: int = 32,
    local_size: int = 16,
    num_local: int = 4,
    global_scale: tuple[float, float] = (0.14, 1.0),
    local_scale: tuple[float, float] = (0.05, 0.14),
    color_strength: float = 0.5,
    jitter_p: float = 0.8,
    gray_p: float = 0.2,
    blur_p: float = 0.0,
    flip_p: float = 0.5,
    mean: tuple[float, float, float] = CIFAR_MEAN,
    std: tuple[float, float, float] = CIFAR_STD,
) -> ImageViews:
    """Multi-crop (Caron et al. 2020, SwAV): 2 global crops then ``num_local`` small crops.

    Views come back in one list: the two ``global_size`` views first, then the ``local_size``
    ones, so methods can batch equal-size views for the backbone. Global crops cover
    ``global_scale`` of the image and local crops ``local_scale`` (the paper's ImageNet split
    at 0.14); colour, grayscale, blur and flip follow the ``simclr`` recipe for every view.
    The defaults suit 32 px CIFAR images (ImageNet: 224 / 96 px, 6 local crops).
    """
    if num_local < 0:
        raise ValueError(f"multicrop num_local must be >= 0, got {num_local}")
    colour = simclr_colour(color_strength)
    global_spec = crop_view(global_size, global_scale, colour, flip_p, jitter_p, gray_p, blur_p)
    local_spec = dataclasses.replace(
        global_spec, size=local_size, scale=(float(local_scale[0]), float(local_scale[1]))
    )
    return ImageViews([global_spec] * 2 + [local_spec] * num_local, mean=mean, std=std)


@register_augment("dino", modality="image")
def dino(
    global_size: int = 32,
    local_size: int = 16,
    num_local: int = 6,
    global_scale: tuple[float, float] = (0.4, 1.0),
    local_scale: tuple[float, float] = (0.05, 0.4),
    jitter_p: float = 0.8,
    gray_p: float = 0.2,
    blur_p: tuple[float, float, float] = (1.0, 0.1, 0.5),
    solarize_p: float = 0.2,
    flip_p: float = 0.5,
    mean: tuple[float, float, float] = CIFAR_MEAN,
    std: tuple[float, float, float] = CIFAR_STD,
) -> ImageViews:
    """DINO's multi-crop (Caron et al. 2021): 2 global crops then ``num_local`` local crops.

    Colour as BYOL (brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1 with ``jitter_p``,
    grayscale ``gray_p``); blur with probability ``blur_p`` = (global 1, global 2, locals) and
    solarize on global view 2 only, as in the paper. Views are ordered globals first, like
    ``multicrop``. The defaults are the paper's crop scales at CIFAR sizes (ImageNet: 224 / 96).
    """
    if num_local < 0:
        raise ValueError(f"dino num_local must be >= 0, got {num_local}")
    if len(blur_p) != 3:
        raise ValueError(f"dino blur_p needs 3 values (global 1, global 2, local), got {blur_p}")
    first = crop_view(global_size, global_scale, BYOL_COLOUR, flip_p, jitter_p, gray_p, blur_p[0])
    second = dataclasses.replace(first, blur_p=blur_p[1], solarize_p=solarize_p)
    local = dataclasses.replace(
        first,
        size=local_size,
        scale=(float(local_scale[0]), float(local_scale[1])),
        blur_p=blur_p[2],
    )
    return ImageViews([first, second] + [local] * num_local, mean=mean, std=std)
