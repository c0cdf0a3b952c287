"""selfsup.losses: one self-supervised loss per module, each an ``nn.Module``."""

from selfsup.losses.nt_xent import NTXentLoss

__all__ = ["NTXentLoss"]
