"""One registered spec per modality (``image``, ``text``): item schema and collate, evaluation
sets, fine-tuning views, backbone inputs and tiny test inputs.

Importing the package registers every spec module in it, so a new modality (audio) is one new
file here (plus its data, backbone and augment modules), with no edit to existing code.
"""

import importlib
import pkgutil

from selfsup.modalities.base import Modality
from selfsup.modalities.registry import (
    MODALITIES,
    get_modality,
    list_modalities,
    modality_of,
    modality_of_backbone,
    register_modality,
)

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")

__all__ = [
    "MODALITIES",
    "Modality",
    "get_modality",
    "list_modalities",
    "modality_of",
    "modality_of_backbone",
    "register_modality",
]
