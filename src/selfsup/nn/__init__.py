"""selfsup.nn: building blocks shared by methods (heads, cross-rank gathering, ...)."""

from selfsup.nn.gather import gather, gather_nograd, is_distributed, rank, world_size
from selfsup.nn.heads import LayerSpec, MLPHead, SimCLRProjectionHead

__all__ = [
    "LayerSpec",
    "MLPHead",
    "SimCLRProjectionHead",
    "gather",
    "gather_nograd",
    "is_distributed",
    "rank",
    "world_size",
]
