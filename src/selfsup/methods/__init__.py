"""SSL methods: importing this package registers every method."""

from selfsup.methods.base import Batch, Method
from selfsup.methods.contrastive import (
    barlow_twins,
    byol,
    moco,
    moco_v3,
    nnclr,
    simclr,
    simsiam,
    swav,
    vicreg,
)
from selfsup.methods.registry import METHODS, create_method, list_methods, register_method

__all__ = [
    "METHODS",
    "Batch",
    "Method",
    "barlow_twins",
    "byol",
    "create_method",
    "list_methods",
    "moco",
    "moco_v3",
    "nnclr",
    "register_method",
    "simclr",
    "simsiam",
    "swav",
    "vicreg",
]
