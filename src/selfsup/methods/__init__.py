"""SSL methods: importing this package registers every method."""

from selfsup.methods.base import Batch, Method
from selfsup.methods.contrastive import simclr
from selfsup.methods.registry import METHODS, create_method, list_methods, register_method

__all__ = [
    "METHODS",
    "Batch",
    "Method",
    "create_method",
    "list_methods",
    "register_method",
    "simclr",
]
