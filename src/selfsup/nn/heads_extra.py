"""Heads of NNCLR and MoCo v3, built from :class:`~selfsup.nn.heads.LayerSpec` like the rest."""

from __future__ import annotations

from selfsup.nn.heads import LayerSpec, MLPHead


def _hidden_blocks(in_dim: int, hidden_dim: int, count: int) -> list[LayerSpec]:
    """``count`` blocks of ``Linear -> BN -> ReLU``; the first reads ``in_dim`` features."""
    return [
        LayerSpec(in_dim if i == 0 else hidden_dim, hidden_dim, batch_norm=True, activation="relu")
        for i in range(count)
    ]


def _check_layers(name: str, num_layers: int) -> None:
    if num_layers < 2:
        raise ValueError(f"{name} num_layers must be >= 2, got {num_layers}")


class NNCLRProjectionHead(MLPHead):
    """NNCLR's projector (Dwibedi et al., 2021): BN after every layer, 2048-2048-256.

    ``Linear-BN-ReLU`` hidden blocks and a final ``Linear-BN`` (no ReLU). ``num_layers=3`` is
    the paper's head; 2 layers (one hidden block) is the lighter CIFAR-sized choice.
    """

    def __init__(
        self, in_dim: int, hidden_dim: int = 2048, out_dim: int = 256, num_layers: int = 3
    ) -> None:
        _check_layers(type(self).__name__, num_layers)
        specs = _hidden_blocks(in_dim, hidden_dim, num_layers - 1)
        specs.append(LayerSpec(hidden_dim, out_dim, batch_norm=True))
        super().__init__(specs)


class NNCLRPredictionHead(MLPHead):
    """NNCLR's predictor: ``Linear(256, 4096) -> BN -> ReLU -> Linear(4096, 256)``."""

    def __init__(self, in_dim: int = 256, hidden_dim: int = 4096, out_dim: int = 256) -> None:
        super().__init__([*_hidden_blocks(in_dim, hidden_dim, 1), LayerSpec(hidden_dim, out_dim)])


class MoCoV3ProjectionHead(MLPHead):
    """MoCo v3's projector (Chen, Xie & He, 2021): 3 layers, 4096 hidden, 256 out, BN in all.

    Every linear layer is bias-free (a BN follows each); the output BN has no affine parameters,
    as in SimCLR's head design that MoCo v3 follows.
    """

    def __init__(
        self, in_dim: int, hidden_dim: int = 4096, out_dim: int = 256, num_layers: int = 3
    ) -> None:
        _check_layers(type(self).__name__, num_layers)
        specs = _hidden_blocks(in_dim, hidden_dim, num_layers - 1)
        specs.append(LayerSpec(hidden_dim, out_dim, batch_norm=True, bn_affine=False))
        super().__init__(specs)


class MoCoV3PredictionHead(MLPHead):
    """MoCo v3's predictor: ``Linear -> BN -> ReLU -> Linear``, 256 -> 4096 -> 256, no bias."""

    def __init__(self, in_dim: int = 256, hidden_dim: int = 4096, out_dim: int = 256) -> None:
        specs = _hidden_blocks(in_dim, hidden_dim, 1)
        specs.append(LayerSpec(hidden_dim, out_dim, bias=False))
        super().__init__(specs)
