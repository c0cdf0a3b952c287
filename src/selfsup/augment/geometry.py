"""Crop + resize + flip, and Gaussian blur, as per-sample separable linear maps; rotation.

Each is a pair of matrices per sample (rows ``[B, out, H]`` and columns ``[B, out, W]``)
applied with two batched matmuls. For the small images of SSL pretraining this is faster than
``grid_sample`` and it reproduces torchvision's ``resized_crop`` (bilinear, with antialiasing
when shrinking) and ``gaussian_blur`` (reflect padding) exactly, in one code path.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def resize_weights(
    start: torch.Tensor,
    length: torch.Tensor,
    in_size: int,
    out_size: int,
    flip: torch.Tensor | None = None,
    antialias: bool = True,
) -> torch.Tensor:
    """Interpolation matrices ``[B, out_size, in_size]`` resampling ``[start, start + length)``.

    Triangle (bilinear) weights over the input pixels whose centres lie inside the window, the
    triangle widened by the shrink factor when ``antialias`` (PIL's and torch's antialias
    scheme). Normalising each row makes out-of-window taps fall back to the window's edge, as
    cropping first and resizing second would. ``flip`` mirrors the output per sample.
    """
    device = start.device
    centres_in = torch.arange(in_size, device=device, dtype=torch.float32) + 0.5  # [in]
    t = (torch.arange(out_size, device=device, dtype=torch.float32) + 0.5) / out_size  # [out]
    t = t.expand(start.shape[0], out_size)
    if flip is not None:
        t = torch.where(flip[:, None], 1.0 - t, t)
    start, length = start[:, None, None], length[:, None, None]
    centres_out = start + t[:, :, None] * length  # [B, out, 1] in input pixel units
    w = centres_in - centres_out  # [B, out, in]; in-place from here on (no temporaries)
    if antialias:
        w.div_((length / out_size).clamp(min=1.0))
    w.abs_().neg_().add_(1.0).clamp_(min=0.0)
    w.mul_((centres_in >= start) & (centres_in <= start + length))
    return w.div_(w.sum(dim=2, keepdim=True).clamp_(min=1e-12))


def gaussian_weights(sigma: torch.Tensor, size: int, kernel_size: int) -> torch.Tensor:
    """Gaussian blur matrices ``[B, size, size]`` with reflect padding; sigma 0 = identity."""
    if kernel_size // 2 >= size:
        raise ValueError(f"blur kernel {kernel_size} is too large for {size}-pixel views")
    device = sigma.device
    half = kernel_size // 2
    offsets = torch.arange(-half, half + 1, device=device, dtype=torch.float32)  # [k]
    s = sigma.clamp(min=1e-6)[:, None]
    kernel = torch.exp(-0.5 * (offsets / s) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # [B, k]
    # Tap i + o reflected at the borders without repeating the edge pixel (-1 -> 1).
    idx = torch.arange(size, device=device)[:, None] + offsets.long()  # [size, k]
    idx = idx.abs()
    idx = torch.where(idx >= size, 2 * (size - 1) - idx, idx)
    batch = sigma.shape[0]
    w = torch.zeros(batch, size, size, device=device)
    return w.scatter_add_(
        2, idx.expand(batch, size, kernel_size), kernel[:, None, :].expand(batch, size, kernel_size)
    )


def apply_separable(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``rows @ x @ cols^T`` per sample: ``[B, C, H, W]`` -> ``[B, C, out_h, out_w]``."""
    b, c, h, w = x.shape
    tmp = torch.matmul(x.reshape(b, c * h, w), cols.transpose(1, 2))  # [B, C*H, out_w]
    return torch.matmul(rows.unsqueeze(1), tmp.view(b, c, h, -1))  # [B, C, out_h, out_w]


def crop_resize(
    x: torch.Tensor,
    box: torch.Tensor,
    size: int,
    flip: torch.Tensor | None = None,
    antialias: bool = True,
    gain: float = 1.0,
) -> torch.Tensor:
    """Crop ``box`` ([B, 4] = x0, y0, w, h in pixels) of each float image, resize to
    ``size x size``, mirror where ``flip``; ``gain`` scales the result for free (e.g. 1/255)."""
    _, _, h, w = x.shape
    rows = resize_weights(box[:, 1], box[:, 3], h, size, None, antialias)
    cols = resize_weights(box[:, 0], box[:, 2], w, size, flip, antialias)
    if gain != 1.0:
        rows = rows * gain
    return apply_separable(x, rows, cols)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Blur each square image with its own ``sigma`` (0 leaves it unchanged)."""
    weights = gaussian_weights(sigma, x.shape[-1], kernel_size)
    return apply_separable(x, weights, weights)


def rotate(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Turn each image of ``x`` by its own angle (degrees, counter-clockwise) about its centre.

    Bilinear, with pixels from outside the image set to 0, as torchvision's ``rotate``. Not a
    separable map, so it is one ``grid_sample`` on the (small) view rather than on the source.
    """
    rad = degrees.to(x.device, torch.float32) * (math.pi / 180.0)
    cos, sin = torch.cos(rad), torch.sin(rad)
    theta = torch.zeros(x.shape[0], 2, 3, device=x.device)
    # affine_grid maps output to input coordinates: the inverse turn, x right and y down.
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin, cos
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
