"""A FIFO memory queue of keys (MoCo's negatives), stored as buffers so it rides in checkpoints."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.nn.gather import gather_nograd


class MemoryQueue(nn.Module):
    """The ``size`` newest keys of dimension ``dim`` pushed so far, from all ranks.

    ``push`` gathers the keys of every rank (no gradient) and overwrites the oldest rows, wrapping
    around the end of the buffer; ``features`` returns the valid rows (all of them once the queue
    has wrapped once). Row order inside the buffer is storage order, not age order.
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"MemoryQueue needs size >= 1 and dim >= 1, got {size} and {dim}")
        self.size = size
        self.dim = dim
        self.register_buffer("keys", torch.zeros(size, dim))
        # Next row to write and number of valid rows; tensors so they are checkpointed too.
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))
        self.keys: torch.Tensor
        self.ptr: torch.Tensor
        self.filled: torch.Tensor

    def __len__(self) -> int:
        return int(self.filled)

    @torch.no_grad()
    def push(self, keys: torch.Tensor) -> None:
        """Enqueue ``keys: [N, dim]`` from this rank together with every other rank's keys."""
        if keys.dim() != 2 or keys.shape[1] != self.dim:
            raise ValueError(
                f"MemoryQueue.push expects keys of shape [N, {self.dim}], got {tuple(keys.shape)}"
            )
        everything = gather_nograd(keys.detach())  # [N * world_size, dim]
        n = everything.shape[0]
        start = self.ptr
        if n > self.size:  # only the newest `size` keys survive; keep the ring position honest
            start = start + (n - self.size)
            everything = everything[-self.size :]
        rows = (start + torch.arange(everything.shape[0], device=self.keys.device)) % self.size
        self.keys.index_copy_(0, rows, everything.to(self.keys))
        self.ptr.copy_((self.ptr + n) % self.size)
        self.filled.add_(n).clamp_(max=self.size)

    def features(self) -> torch.Tensor:
        """The valid keys ``[min(pushed, size), dim]`` (a view of the buffer; clone to keep)."""
        filled = int(self.filled)
        return self.keys if filled == self.size else self.keys[:filled]
