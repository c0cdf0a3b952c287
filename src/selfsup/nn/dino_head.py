"""DINO's projection head: an MLP to a bottleneck, L2-normalised, then a weight-normed layer."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from selfsup.nn.heads import LayerSpec, MLPHead


class DINOHead(nn.Module):
    """``[..., in_dim] -> [..., out_dim]`` prototype scores (Caron et al., 2021).

    ``num_layers`` linear layers (GELU between them, BatchNorm optional) map to a
    ``bottleneck_dim`` vector that is L2-normalised, then a bias-free weight-normalised linear
    layer gives ``out_dim`` logits. With ``norm_last_layer`` the weight-norm gain is fixed at 1,
    so every prototype row has unit norm (the paper's choice for stability with ViTs).
    Inputs may carry extra leading dims (patch tokens ``[B, N, D]``): they are flattened.

    Args:
        in_dim: backbone feature size.
        out_dim: number of prototypes K (paper: 65,536 on ImageNet).
        hidden_dim / bottleneck_dim: MLP sizes (paper: 2048 and 256).
        num_layers: linear layers before the bottleneck normalisation (paper: 3).
        batch_norm: BatchNorm1d after each hidden layer (paper: off for ViT).
        norm_last_layer: freeze the weight-norm gain at 1.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int = 65536,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        num_layers: int = 3,
        batch_norm: bool = False,
        norm_last_layer: bool = True,
    ) -> None:
        super().__init__()
        if num_layers < 1 or min(in_dim, out_dim, hidden_dim, bottleneck_dim) < 1:
            raise ValueError(
                "DINOHead needs num_layers >= 1 and positive sizes, got "
                f"num_layers={num_layers}, in={in_dim}, hidden={hidden_dim}, "
                f"bottleneck={bottleneck_dim}, out={out_dim}"
            )
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [bottleneck_dim]
        specs = [
            LayerSpec(a, b, batch_norm=batch_norm, activation="gelu")
            for a, b in itertools.pairwise(dims[:-1])
        ]
        specs.append(LayerSpec(dims[-2], dims[-1]))
        self.mlp = MLPHead(specs)
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):  # the paper's init: truncated normal, zero bias
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.last_layer = weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        gain = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            gain.fill_(1.0)
        gain.requires_grad_(not norm_last_layer)
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor, freeze_last_layer: bool = False) -> torch.Tensor:
        """Logits ``[..., out_dim]``; ``freeze_last_layer`` gives the last layer no gradient
        (its parameters then get ``grad=None`` and the optimizer skips them)."""
        lead = x.shape[:-1]
        z = F.normalize(self.mlp(x.reshape(-1, x.shape[-1])), dim=-1)  # [M, bottleneck]
        weight = self.last_layer.weight  # [out_dim, bottleneck], recomputed from g and v
        out = F.linear(z, weight.detach() if freeze_last_layer else weight)
        return out.reshape(*lead, self.out_dim)
