"""Per-sample hue rotation, two ways.

``"yiq"`` (default) rotates the chroma plane of YIQ space: a 3x3 matrix per image, one batched
matmul for the whole batch, about 15x faster on CPU than the HSV route. It keeps luma and
chroma magnitude exactly but is not HSV's hue (a 1/3 turn takes pure red near, not to, pure
green) and can leave the RGB gamut, so the result is clamped. GPU pipelines use the same
trade (e.g. NVIDIA DALI's hue). ``"hsv"`` is the exact HSV rotation of torchvision and
``colorsys``, for parity with per-image pipelines.
"""

from __future__ import annotations

import math

import torch

# FCC NTSC RGB -> YIQ (the rows give Y, I, Q); its exact inverse is computed, not rounded.
_RGB_TO_YIQ = (
    (0.299, 0.587, 0.114),
    (0.595716, -0.274453, -0.321263),
    (0.211456, -0.522591, 0.311135),
)


def yiq_hue_matrices(shift: torch.Tensor) -> torch.Tensor:
    """``[B, 3, 3]`` RGB -> RGB matrices rotating hue by ``shift`` turns in YIQ space.

    The rotation runs clockwise in the I-Q plane so that a positive shift moves red towards
    yellow and green, the same direction as an HSV hue increase.
    """
    to_yiq = torch.tensor(_RGB_TO_YIQ, dtype=torch.float64, device=shift.device)
    angle = -2.0 * math.pi * shift.double()
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(shift.shape[0], 3, 3, dtype=torch.float64, device=shift.device)
    rot[:, 0, 0] = 1.0
    rot[:, 1, 1], rot[:, 1, 2] = cos, -sin
    rot[:, 2, 1], rot[:, 2, 2] = sin, cos
    # Built in float64 (3x3 per image, negligible cost) so shift 0 is identity to ~1e-7.
    return (torch.linalg.inv(to_yiq) @ rot @ to_yiq).float()


def adjust_hue_yiq(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate hue by ``shift`` turns per sample in YIQ space, clamped to [0, 1]."""
    b, c, h, w = x.shape
    out = torch.bmm(yiq_hue_matrices(shift), x.reshape(b, c, h * w))
    return out.clamp_(0.0, 1.0).view(b, c, h, w)


def adjust_hue_hsv(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the HSV hue by ``shift`` turns per sample (exact, as torchvision / colorsys).

    Value (max) and chroma (max - min) are unchanged by a hue rotation, so only the hue is
    computed and each channel is rebuilt with the closed-form HSV -> RGB formula
    ``c_n = max - chroma * clamp(min(k, 4 - k), 0, 1)``, ``k = (n + 6 h) mod 6``.
    """
    r, g, b = x.unbind(dim=1)
    hi = torch.maximum(torch.maximum(r, g), b)
    chroma = hi - torch.minimum(torch.minimum(r, g), b)
    safe = torch.where(chroma > 0, chroma, 1.0)
    hue6 = torch.where(
        hi == r, (g - b) / safe, torch.where(hi == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)
    )
    hue6 = hue6.unsqueeze(1) + 6.0 * shift.view(-1, 1, 1, 1)  # [B, 1, H, W], in sextants
    n = torch.tensor([5.0, 3.0, 1.0], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    k = (hue6 + n).remainder_(6.0)  # [B, 3, H, W]
    k = torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0)
    return hi.unsqueeze(1) - chroma.unsqueeze(1) * k


def adjust_hue(x: torch.Tensor, shift: torch.Tensor, space: str = "yiq") -> torch.Tensor:
    """Hue rotation of 3-channel ``x`` by ``shift`` turns per sample (1 channel: unchanged)."""
    if x.shape[1] == 1:
        return x
    if space == "yiq":
        return adjust_hue_yiq(x, shift)
    if space == "hsv":
        return adjust_hue_hsv(x, shift)
    raise ValueError(f"hue space must be 'yiq' or 'hsv', got {space!r}")
