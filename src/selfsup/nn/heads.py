"""Projection / prediction heads: one generic MLP built from layer specs, plus named recipes.

A method's head is a list of :class:`LayerSpec`; papers' heads are thin subclasses of
:class:`MLPHead` that only choose the specs, so sizes stay visible and there is one MLP class.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

Activation = Literal["relu", "gelu"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU}


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One block of an MLP head: ``Linear -> [BatchNorm1d] -> [activation]``.

    Args:
        in_dim: input features.
        out_dim: output features.
        batch_norm: add ``BatchNorm1d(out_dim)`` after the linear layer.
        activation: ``"relu"``, ``"gelu"`` or ``None``.
        bias: linear bias; ``None`` means "only when no BatchNorm follows" (BN's shift makes
            the bias redundant).
        bn_affine: learnable BN scale and shift (SimSiam's last projector BN has none).
    """

    in_dim: int
    out_dim: int
    batch_norm: bool = False
    activation: Activation | None = None
    bias: bool | None = None
    bn_affine: bool = True

    def __post_init__(self) -> None:
        if self.in_dim < 1 or self.out_dim < 1:
            raise ValueError(f"LayerSpec dims must be >= 1, got {self.in_dim} -> {self.out_dim}")
        if self.activation is not None and self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"LayerSpec activation must be one of {sorted(_ACTIVATIONS)} or None, "
                f"got {self.activation!r}"
            )

    def build(self) -> list[nn.Module]:
        """The modules of this block, in order."""
        bias = not self.batch_norm if self.bias is None else self.bias
        layers: list[nn.Module] = [nn.Linear(self.in_dim, self.out_dim, bias=bias)]
        if self.batch_norm:
            layers.append(nn.BatchNorm1d(self.out_dim, affine=self.bn_affine))
        if self.activation is not None:
            layers.append(_ACTIVATIONS[self.activation]())
        return layers


class MLPHead(nn.Module):
    """An MLP ``[B, specs[0].in_dim] -> [B, specs[-1].out_dim]`` built from ``specs`` in order."""

    def __init__(self, specs: Sequence[LayerSpec]) -> None:
        super().__init__()
        if not specs:
            raise ValueError("MLPHead needs at least one LayerSpec")
        for i, (prev, nxt) in enumerate(itertools.pairwise(specs)):
            if prev.out_dim != nxt.in_dim:
                raise ValueError(
                    f"MLPHead layer {i} outputs {prev.out_dim} features but layer {i + 1} "
                    f"expects {nxt.in_dim}"
                )
        self.specs = tuple(specs)
        self.in_dim = specs[0].in_dim
        self.out_dim = specs[-1].out_dim
        self.layers = nn.Sequential(*(m for spec in specs for m in spec.build()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project ``x: [B, in_dim]`` to ``[B, out_dim]``."""
        return self.layers(x)


class SimCLRProjectionHead(MLPHead):
    """SimCLR's 2-layer projector: ``Linear -> BN -> ReLU -> Linear`` (Chen et al., 2020).

    The paper uses 2048 hidden and 128 output features; ``batch_norm=False`` gives the original
    BN-free variant with a bias on the first layer instead.
    """

    def __init__(
        self, in_dim: int, hidden_dim: int = 2048, out_dim: int = 128, batch_norm: bool = True
    ) -> None:
        super().__init__(
            [
                LayerSpec(in_dim, hidden_dim, batch_norm=batch_norm, activation="relu"),
                LayerSpec(hidden_dim, out_dim),
            ]
        )


class BYOLProjectionHead(MLPHead):
    """BYOL's projector: ``Linear -> BN -> ReLU -> Linear``, 4096 hidden, 256 out (Grill et al.,
    2020)."""

    def __init__(self, in_dim: int, hidden_dim: int = 4096, out_dim: int = 256) -> None:
        super().__init__(
            [
                LayerSpec(in_dim, hidden_dim, batch_norm=True, activation="relu"),
                LayerSpec(hidden_dim, out_dim),
            ]
        )


class BYOLPredictionHead(BYOLProjectionHead):
    """BYOL's predictor: the projector's architecture applied to a 256-d projection."""

    def __init__(self, in_dim: int = 256, hidden_dim: int = 4096, out_dim: int = 256) -> None:
        super().__init__(in_dim, hidden_dim, out_dim)


class SimSiamProjectionHead(MLPHead):
    """SimSiam's projector (Chen & He, 2021): every linear layer followed by BN, the last BN
    without affine parameters and without ReLU; 2048 hidden and out.

    ``num_layers=3`` is the ImageNet head; the paper's CIFAR runs use 2 layers.
    """

    def __init__(
        self, in_dim: int, hidden_dim: int = 2048, out_dim: int = 2048, num_layers: int = 3
    ) -> None:
        if num_layers not in (2, 3):
            raise ValueError(f"SimSiamProjectionHead num_layers must be 2 or 3, got {num_layers}")
        specs = [LayerSpec(in_dim, hidden_dim, batch_norm=True, activation="relu")]
        if num_layers == 3:
            specs.append(LayerSpec(hidden_dim, hidden_dim, batch_norm=True, activation="relu"))
        specs.append(LayerSpec(hidden_dim, out_dim, batch_norm=True, bn_affine=False))
        super().__init__(specs)


class SimSiamPredictionHead(MLPHead):
    """SimSiam's predictor: a bottleneck ``Linear -> BN -> ReLU -> Linear``, 2048 -> 512 -> 2048."""

    def __init__(self, in_dim: int = 2048, hidden_dim: int = 512, out_dim: int = 2048) -> None:
        super().__init__(
            [
                LayerSpec(in_dim, hidden_dim, batch_norm=True, activation="relu"),
                LayerSpec(hidden_dim, out_dim),
            ]
        )


class MoCoProjectionHead(MLPHead):
    """MoCo v2's head (Chen et al., 2020b): ``Linear -> ReLU -> Linear``, 2048 hidden, 128 out,
    no BatchNorm (so no batch statistics leak between the query's samples)."""

    def __init__(self, in_dim: int, hidden_dim: int = 2048, out_dim: int = 128) -> None:
        super().__init__(
            [LayerSpec(in_dim, hidden_dim, activation="relu"), LayerSpec(hidden_dim, out_dim)]
        )
