"""HuBERT's masked prediction loss: cross-entropy of frame cluster ids, averaged per utterance
over a chosen set of frames (the masked ones; optionally the unmasked ones apart)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def frame_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, frames: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per utterance, the mean cross-entropy over its ``frames`` and how many it had.

    ``logits [B, N, K]``, ``targets`` long ``[B, N]`` (cluster ids, anything outside
    ``frames`` ignored), ``frames`` bool ``[B, N]``. Returns ``([B] losses, 0 where an
    utterance has no such frame; [B] counts)``. Only the chosen frames are scored, so the
    loss never sees the others' targets.
    """
    if logits.shape[:2] != targets.shape or targets.shape != frames.shape:
        raise ValueError(
            f"logits [B, N, K], targets and frames [B, N] must agree, got "
            f"{tuple(logits.shape)}, {tuple(targets.shape)}, {tuple(frames.shape)}"
        )
    rows, cols = frames.nonzero(as_tuple=True)
    per_frame = F.cross_entropy(logits[rows, cols].float(), targets[rows, cols], reduction="none")
    batch = frames.shape[0]
    counts = torch.bincount(rows, minlength=batch)
    sums = (logits.sum() * 0.0).float().expand(batch).clone().index_add(0, rows, per_frame)
    return sums / counts.clamp(min=1), counts


def frame_accuracy(
    logits: torch.Tensor, targets: torch.Tensor, frames: torch.Tensor
) -> torch.Tensor:
    """Fraction of ``frames`` whose arg-max logit is the target (0 when there are none)."""
    hits = (logits.argmax(-1) == targets) & frames
    return (hits.sum() / frames.sum().clamp(min=1)).float().detach()
