"""Colour operations on float image batches in [0, 1], each with per-sample strengths.

They follow torchvision's definitions (the same luma weights, clamping after every jitter op,
contrast around the mean gray level) and are identities at their neutral value (factor 1, hue
shift 0). Saturation is a per-image 3x3 matrix applied with one batched matmul, which is
cheaper than building the grayscale image and blending. On 1-channel input the colour-only ops
(saturation, hue, grayscale) are identities and are skipped. Ops ending in ``_`` work in place.
"""

from __future__ import annotations

import torch

from selfsup.augment.hue import adjust_hue

LUMA = (0.2989, 0.587, 0.114)  # ITU-R 601-2 luma, as torchvision's rgb_to_grayscale


def _per_sample(v: torch.Tensor) -> torch.Tensor:
    return v.view(-1, 1, 1, 1)


def _luma(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(LUMA, device=device, dtype=dtype)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma ``[B, 1, H, W]`` of ``[B, C, H, W]`` (C = 1 or 3)."""
    b, c, h, w = x.shape
    if c == 1:
        return x
    return torch.matmul(_luma(x.device, x.dtype)[None, :], x.view(b, c, h * w)).view(b, 1, h, w)


def adjust_brightness_(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``clamp(x * f)`` per sample, in place."""
    return x.mul_(_per_sample(factor)).clamp_(0.0, 1.0)


def adjust_contrast_(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend each image with its mean gray level by ``f``, in place."""
    f = _per_sample(factor)
    channel_means = x.mean(dim=(2, 3))  # [B, C]; the mean of the luma is the luma of the means
    if x.shape[1] == 3:
        channel_means = channel_means @ _luma(x.device, x.dtype)[:, None]
    return x.mul_(f).add_(_per_sample(channel_means) * (1.0 - f)).clamp_(0.0, 1.0)


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend each image with its grayscale by ``f``: ``(f I + (1 - f) 1 luma^T) rgb``."""
    b, c, h, w = x.shape
    if c == 1:
        return x
    f = factor.view(b, 1, 1)
    eye = torch.eye(3, device=x.device, dtype=x.dtype)
    gray_rows = _luma(x.device, x.dtype).expand(3, 3)  # every row is the luma weights
    matrices = f * eye + (1.0 - f) * gray_rows  # [B, 3, 3]
    out = torch.bmm(matrices, x.reshape(b, c, h * w))
    return out.clamp_(0.0, 1.0).view(b, c, h, w)


def color_jitter(
    x: torch.Tensor,
    brightness: torch.Tensor,
    contrast: torch.Tensor,
    saturation: torch.Tensor,
    hue: torch.Tensor,
    order: tuple[int, ...] = (0, 1, 2, 3),
    hue_space: str | None = "yiq",
) -> torch.Tensor:
    """The four jitter ops in ``order`` (indices into brightness, contrast, saturation, hue).

    ``x`` may be modified in place. The order is shared by the batch: a per-sample order would
    cost all 16 op/position pairs instead of 4, and across steps every order still occurs
    equally often. ``hue_space=None`` skips the hue op (when its strength is 0).
    """
    for op in order:
        if op == 0:
            x = adjust_brightness_(x, brightness)
        elif op == 1:
            x = adjust_contrast_(x, contrast)
        elif op == 2:
            x = adjust_saturation(x, saturation)
        elif hue_space is not None:
            x = adjust_hue(x, hue, hue_space)
    return x


def random_grayscale(x: torch.Tensor, apply: torch.Tensor) -> torch.Tensor:
    """Replace the images where ``apply`` by their luma in every channel (channels equal)."""
    if x.shape[1] == 1:
        return x
    return torch.where(_per_sample(apply), grayscale(x), x)


def random_solarize(x: torch.Tensor, apply: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Invert pixels ``>= threshold`` in the images where ``apply``."""
    return torch.where(_per_sample(apply) & (x >= threshold), 1.0 - x, x)
