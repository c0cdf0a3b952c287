"""data2vec regression targets: the average of a teacher's top-K layer outputs, each normalised.

Modality-agnostic: works on any ``[B, N, D]`` token sequences (image patches, audio frames,
text tokens), with an optional validity mask so padding does not enter the statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def instance_norm_tokens(
    x: torch.Tensor, valid: torch.Tensor | None = None, eps: float = 1e-5
) -> torch.Tensor:
    """Normalise each channel of each sample over its tokens: ``[B, N, D] -> [B, N, D]``.

    Without ``valid`` this is ``F.instance_norm`` on ``[B, D, N]``; with a bool ``valid [B, N]``
    only valid tokens enter the mean and (biased) variance, and invalid ones come back as 0.
    """
    if x.ndim != 3:
        raise ValueError(f"instance_norm_tokens expects [B, N, D], got {tuple(x.shape)}")
    if valid is None:
        return F.instance_norm(x.float().transpose(1, 2), eps=eps).transpose(1, 2)
    if valid.dtype != torch.bool or valid.shape != x.shape[:2]:
        raise ValueError(
            f"valid must be bool {list(x.shape[:2])}, got {valid.dtype} {list(valid.shape)}"
        )
    w = valid.unsqueeze(-1).float()  # [B, N, 1]
    count = w.sum(dim=1, keepdim=True).clamp(min=1.0)  # [B, 1, 1]
    mean = (x.float() * w).sum(dim=1, keepdim=True) / count
    var = ((x.float() - mean) ** 2 * w).sum(dim=1, keepdim=True) / count
    return (x.float() - mean) / torch.sqrt(var + eps) * w


@torch.no_grad()
def layer_targets(
    layer_outputs: Sequence[torch.Tensor],
    top_k: int,
    valid: torch.Tensor | None = None,
    final_layer_norm: bool = False,
) -> torch.Tensor:
    """``mean over the last top_k of instance_norm(layer_outputs[l])``: ``[B, N, D]``, no grad.

    Args:
        layer_outputs: per-layer ``[B, N, D]`` outputs, first layer first.
        top_k: how many of the last layers to average (data2vec ViT-B: 6 of 12).
        valid: optional bool ``[B, N]``; padding tokens are left out of the normalisation.
        final_layer_norm: also layer-normalise the average over ``D`` (data2vec's text/audio
            option).
    """
    if not 1 <= top_k <= len(layer_outputs):
        raise ValueError(f"top_k must be in [1, {len(layer_outputs)}], got {top_k}")
    shape = layer_outputs[0].shape
    if any(t.shape != shape for t in layer_outputs):
        raise ValueError(
            f"layer outputs differ in shape: {[tuple(t.shape) for t in layer_outputs]}"
        )
    normed = [instance_norm_tokens(t, valid) for t in layer_outputs[-top_k:]]
    target = torch.stack(normed).mean(dim=0)  # [B, N, D]
    if final_layer_norm:
        target = F.layer_norm(target, target.shape[-1:])
    return target
