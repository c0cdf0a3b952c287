"""Building blocks of fine-tuning: optimizer groups with a lower encoder LR and, for timm ViTs,
layer-wise LR decay, and a scoped CPU thread count. (Random training views come from the
encoder's modality spec: ``selfsup.modalities``.)"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn


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
