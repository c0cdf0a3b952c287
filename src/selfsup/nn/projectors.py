"""Projectors (a.k.a. expanders) of the redundancy-reduction methods, built from ``LayerSpec``.

Barlow Twins and VICReg use the same shape: two ``Linear -> BN -> ReLU`` blocks and a final
bias-free ``Linear``, 8192 wide in both papers at ImageNet scale. Both regularise statistics of
the projector's output, so wider outputs help them more than they help contrastive methods.
"""

from __future__ import annotations

from selfsup.nn.heads import LayerSpec, MLPHead


class BarlowTwinsProjectionHead(MLPHead):
    """Barlow Twins' 3-layer projector (Zbontar et al., 2021): 8192-8192-8192 in the paper.

    ``[B, in_dim] -> Linear-BN-ReLU -> Linear-BN-ReLU -> Linear -> [B, out_dim]``.
    """

    def __init__(self, in_dim: int, hidden_dim: int = 8192, out_dim: int = 8192) -> None:
        super().__init__(
            [
                LayerSpec(in_dim, hidden_dim, batch_norm=True, activation="relu"),
                LayerSpec(hidden_dim, hidden_dim, batch_norm=True, activation="relu"),
                LayerSpec(hidden_dim, out_dim, bias=False),
            ]
        )


class VICRegProjectionHead(BarlowTwinsProjectionHead):
    """VICReg's expander (Bardes et al., 2022): the same 3-layer 8192-8192-8192 MLP."""
