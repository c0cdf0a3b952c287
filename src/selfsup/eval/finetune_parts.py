"""Building blocks of fine-tuning: batched crop/flip on uint8 images, optimizer groups with
a lower encoder LR and, for timm ViTs, layer-wise LR decay, and a scoped CPU thread count."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def random_crop_flip(
    x: torch.Tensor, scale_min: float, flip: bool, generator: torch.Generator
) -> torch.Tensor:
    """Per-sample random square-aspect crop covering ``[scale_min, 1]`` of the area, resized
    back to the input size, and (with ``flip``) a horizontal flip half of the time.

    Takes and returns uint8 ``[B, C, H, W]`` so the method's deterministic eval view (which
    expects raw images) still does the resizing and normalisation afterwards.
    """
    if not 0 < scale_min <= 1:
        raise ValueError(f"crop scale_min must be in (0, 1], got {scale_min}")
    b = x.shape[0]
    dev = x.device
    side = (scale_min + (1 - scale_min) * torch.rand(b, generator=generator)).sqrt()  # of 1
    # Crop centre anywhere that keeps the crop inside the image (affine grid units: [-1, 1]).
    centre = (torch.rand(b, 2, generator=generator) * 2 - 1) * (1 - side[:, None])
    sign = torch.ones(b)
    if flip:
        sign = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = side * sign
    theta[:, 1, 1] = side
    theta[:, :, 2] = centre
    grid = F.affine_grid(theta.to(dev), list(x.shape), align_corners=False)
    out = F.grid_sample(x.float(), grid, mode="bilinear", align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)


def finetune_param_groups(
    encoder: nn.Module,
    head: nn.Module,
    encoder_lr: float,
    head_lr: float,
    weight_decay: float,
    layer_decay: float,
) -> list[dict[str, Any]]:
    """AdamW groups: the head at ``head_lr``; the encoder at ``encoder_lr``, scaled per block by
    ``layer_decay ** (depth - layer)`` when it wraps a timm ViT (``.model.blocks``). Biases and
    norm weights (1-d parameters) get no weight decay."""
    groups: list[dict[str, Any]] = []
    timm_vit = getattr(encoder, "model", None)
    if timm_vit is not None and hasattr(timm_vit, "blocks") and layer_decay != 1.0:
        from timm.optim import param_groups_layer_decay

        no_decay = set(getattr(timm_vit, "no_weight_decay", lambda: set())())
        for g in param_groups_layer_decay(
            timm_vit, weight_decay, no_weight_decay_list=no_decay, layer_decay=layer_decay
        ):
            groups.append(
                {
                    "params": g["params"],
                    "weight_decay": g["weight_decay"],
                    "lr": encoder_lr * g.get("lr_scale", 1.0),
                }
            )
        covered = {id(p) for g in groups for p in g["params"]}
        rest = [p for p in encoder.parameters() if p.requires_grad and id(p) not in covered]
        groups.extend(_decay_split(rest, encoder_lr, weight_decay))
    else:
        params = [p for p in encoder.parameters() if p.requires_grad]
        groups.extend(_decay_split(params, encoder_lr, weight_decay))
    groups.extend(_decay_split(list(head.parameters()), head_lr, weight_decay))
    return [g for g in groups if g["params"]]


def _decay_split(params: list[nn.Parameter], lr: float, wd: float) -> list[dict[str, Any]]:
    decay = [p for p in params if p.ndim > 1]
    plain = [p for p in params if p.ndim <= 1]
    return [
        {"params": decay, "weight_decay": wd, "lr": lr},
        {"params": plain, "weight_decay": 0.0, "lr": lr},
    ]


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the block with ``num_threads`` torch CPU threads (None: unchanged), then restore."""
    before = torch.get_num_threads()
    try:
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        yield
    finally:
        torch.set_num_threads(before)
