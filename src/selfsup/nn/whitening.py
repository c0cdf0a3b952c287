"""Patch-whitening initialisation of a conv stem: label-free, from the data's own patches.

The first conv gets the principal directions of the input patches, each scaled to unit
variance, once with each sign (so a ReLU after it keeps both halves of every direction). The
network then starts from decorrelated, equal-variance edge and colour detectors instead of
random filters, which speeds up early training (the trick of fast CIFAR-10 training recipes,
here computed from unlabeled images only).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-2  # added to the eigenvalues: keeps the near-constant directions from blowing up


def patch_whitening_filters(images: torch.Tensor, kernel: int, count: int) -> torch.Tensor:
    """The ``count`` leading whitening filters ``[count, C, k, k]`` of ``images`` ``[N, C, H, W]``.

    Filter i is eigenvector i of the patch covariance (largest first) over sqrt(eigenvalue +
    EPS), so its response over the data's patches has about unit variance.
    """
    if images.dim() != 4 or images.shape[-1] < kernel or images.shape[-2] < kernel:
        raise ValueError(
            f"patch whitening needs images [N, C, H, W] of at least {kernel} px, "
            f"got shape {list(images.shape)}"
        )
    channels = images.shape[1]
    dims = channels * kernel * kernel
    if not 1 <= count <= dims:
        raise ValueError(f"can make 1..{dims} whitening filters of {kernel}x{kernel}, got {count}")
    patches = F.unfold(images.double(), kernel).transpose(1, 2).reshape(-1, dims)
    patches = patches - patches.mean(dim=0)
    cov = patches.T @ patches / patches.shape[0]
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)  # ascending
    top = eigenvectors[:, -count:].flip(1) / (eigenvalues[-count:].flip(0) + EPS).sqrt()
    return top.T.reshape(count, channels, kernel, kernel).to(images.dtype)


@torch.no_grad()
def whiten_conv_(conv: nn.Conv2d, images: torch.Tensor) -> int:
    """Set ``conv``'s leading filters to ± whitening filters of ``images`` (normalised floats).

    Fills 2 * min(out_channels // 2, C*k*k) filters (the pairs ±f); any others keep their init.
    Returns how many were set.
    """
    if conv.groups != 1 or conv.kernel_size[0] != conv.kernel_size[1]:
        raise ValueError("patch whitening needs a square, ungrouped conv")
    if images.shape[1] != conv.in_channels:
        raise ValueError(
            f"conv takes {conv.in_channels} channels but the images have {images.shape[1]}"
        )
    kernel = conv.kernel_size[0]
    pairs = min(conv.out_channels // 2, conv.in_channels * kernel * kernel)
    filters = patch_whitening_filters(images.float(), kernel, pairs)
    weight = torch.cat([filters, -filters]).to(conv.weight)
    conv.weight[: 2 * pairs].copy_(weight)
    if conv.bias is not None:
        conv.bias[: 2 * pairs].zero_()
    return 2 * pairs
