"""HuBERT's prediction head: cosine similarity between projected frames and learned codeword
embeddings, over a temperature (Hsu et al. 2021, eq. 3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CodewordCosineHead(nn.Module):
    """``[..., in_dim] -> [..., num_codes]`` logits ``cos(A o, e_c) / temperature``.

    Args:
        in_dim: width of the frames (the encoder's ``feature_dim``).
        num_codes: codewords, one per cluster of the targets.
        dim: width of the projection ``A`` and of the codeword embeddings ``e_c`` (256 in the
            paper).
        temperature: 0.1 in the paper.
    """

    def __init__(self, in_dim: int, num_codes: int, dim: int = 256, temperature: float = 0.1):
        super().__init__()
        if num_codes < 2 or dim < 1 or not temperature > 0:
            raise ValueError(
                f"CodewordCosineHead needs num_codes >= 2, dim >= 1, temperature > 0: "
                f"{num_codes}, {dim}, {temperature}"
            )
        self.project = nn.Linear(in_dim, dim)
        self.codewords = nn.Parameter(torch.randn(num_codes, dim) * dim**-0.5)
        self.temperature = float(temperature)

    @property
    def num_codes(self) -> int:
        """How many codewords (classes) the logits cover."""
        return int(self.codewords.shape[0])

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        z = F.normalize(self.project(frames).float(), dim=-1)
        return z @ F.normalize(self.codewords.float(), dim=-1).T / self.temperature
