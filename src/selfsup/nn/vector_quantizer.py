"""Vector quantisation with an EMA-updated codebook and dead-code restarts."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from selfsup.nn.gather import world_size


class VectorQuantizer(nn.Module):
    """Nearest-code quantiser (van den Oord et al. 2017, EMA variant of appendix A.1).

    The codebook is not trained by gradients: in training mode each call moves every code
    towards the mean of the vectors assigned to it (decay ``decay``). Codes whose smoothed
    usage falls below ``dead_threshold`` are restarted on random vectors of the current batch,
    so the codebook stays in use. The encoder gets the straight-through gradient plus the
    commitment loss ``commitment * ||z - sg(code)||^2``. Under DDP the assignment counts and
    sums are all-reduced and restarted codes come from rank 0's batch, so every rank keeps the
    same codebook, built from the global batch.

    Args:
        num_codes: codebook size.
        dim: code vector size.
        decay: EMA decay of the codebook statistics.
        commitment: weight of the commitment loss.
        dead_threshold: smoothed assignment count under which a code is restarted (0: never).
    """

    def __init__(
        self,
        num_codes: int,
        dim: int,
        decay: float = 0.99,
        commitment: float = 0.25,
        dead_threshold: float = 0.01,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if num_codes < 2 or dim < 1:
            raise ValueError(f"VectorQuantizer needs num_codes >= 2, dim >= 1: {num_codes}, {dim}")
        if not 0.0 < decay < 1.0:
            raise ValueError(f"VectorQuantizer decay must be in (0, 1), got {decay}")
        self.decay, self.commitment, self.eps = decay, commitment, eps
        self.dead_threshold = dead_threshold
        codes = torch.randn(num_codes, dim)
        self.register_buffer("codebook", codes)
        # Zero usage: every code counts as dead at the first training call and restarts on
        # real encoder outputs (a data-dependent initialisation).
        self.register_buffer("cluster_size", torch.zeros(num_codes))
        self.register_buffer("code_sum", codes.clone())
        self.codebook: torch.Tensor
        self.cluster_size: torch.Tensor
        self.code_sum: torch.Tensor

    @property
    def num_codes(self) -> int:
        """Codebook size."""
        return int(self.codebook.shape[0])

    def assign(self, z: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each vector: ``[..., D]`` -> long ``[...]``."""
        flat = z.reshape(-1, z.shape[-1]).float()
        # ||z||^2 is the same for every code, so it does not change the argmin.
        dist = self.codebook.pow(2).sum(1) - 2 * flat @ self.codebook.t()  # [M, K]
        return dist.argmin(dim=1).reshape(z.shape[:-1])

    def forward(
        self, z: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantise ``z [..., D]``: (straight-through codes ``[..., D]``, ids, commitment loss)."""
        if z.shape[-1] != self.codebook.shape[1]:
            raise ValueError(f"expected vectors of size {self.codebook.shape[1]}, got {z.shape}")
        ids = self.assign(z)
        quantized = F.embedding(ids, self.codebook).to(z.dtype)
        if self.training:
            self._ema_update(
                z.detach().reshape(-1, z.shape[-1]).float(), ids.reshape(-1), generator
            )
        commit = self.commitment * F.mse_loss(z, quantized.detach())
        return z + (quantized - z).detach(), ids, commit

    @torch.no_grad()
    def _ema_update(
        self, flat: torch.Tensor, ids: torch.Tensor, generator: torch.Generator | None
    ) -> None:
        onehot = F.one_hot(ids, self.num_codes).to(flat.dtype)  # [M, K]
        counts, sums = onehot.sum(0), onehot.t() @ flat  # [K], [K, D]
        if world_size() > 1:
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.code_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        # Laplace smoothing keeps rarely used codes from dividing by ~0.
        n = self.cluster_size.sum()
        size = (self.cluster_size + self.eps) / (n + self.num_codes * self.eps) * n
        self.codebook.copy_(self.code_sum / size.unsqueeze(1))
        dead = self.cluster_size < self.dead_threshold
        if self.dead_threshold > 0 and bool(dead.any()):
            device = generator.device if generator is not None else flat.device
            count = int(dead.sum())
            picks = torch.randint(flat.shape[0], (count,), generator=generator, device=device)
            fresh = flat[picks.to(flat.device)]  # [dead, D]
            if world_size() > 1:
                # ``dead`` is the same on every rank (synced statistics); so must the codes be.
                dist.broadcast(fresh, src=0)
            self.codebook[dead] = fresh
            self.code_sum[dead] = fresh
            self.cluster_size[dead] = 1.0
