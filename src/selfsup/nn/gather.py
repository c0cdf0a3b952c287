"""Cross-rank gathering for losses that use other ranks' embeddings (e.g. as negatives).

Every function is the identity (or 1 / 0) when ``torch.distributed`` is not initialised, so
losses call them unconditionally and work the same in one process and under DDP.

All ranks must pass tensors of the same shape: gloo aborts on a size mismatch ("Received data
size doesn't match expected size"), and checking sizes up front would cost an extra collective
on every call.
"""

from __future__ import annotations

import warnings

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn


def is_distributed() -> bool:
    """Whether a process group is initialised (with any number of ranks)."""
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """Number of ranks, or 1 when not distributed."""
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    """This process's rank, or 0 when not distributed."""
    return dist.get_rank() if is_distributed() else 0


def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from all ranks along dim 0: ``[N, ...] -> [world_size * N, ...]``.

    Differentiable: the backward sums the gathered tensor's gradient over ranks and hands each
    rank its own slice, so a loss that sees other ranks' rows still sends their gradients home.
    """
    if world_size() == 1:
        return x
    # torch marks this autograd-aware all_gather deprecated in favour of a private functional
    # API; it stays the portable choice across the supported torch versions and is correct on
    # gloo and NCCL (its backward is an all-to-all / reduce-scatter of the gradient slices).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*all_gather")
        parts = dist_fn.all_gather(x)
    return torch.cat(parts, dim=0)


@torch.no_grad()
def gather_nograd(x: torch.Tensor) -> torch.Tensor:
    """Like :func:`gather` but outside autograd (for queues, memory banks, metrics)."""
    if world_size() == 1:
        return x.detach()
    parts = [torch.empty_like(x) for _ in range(world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)
