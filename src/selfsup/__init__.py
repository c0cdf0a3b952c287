"""selfsup: self-supervised representation learning for images, audio and text."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from selfsup.export.encoder import PretrainedEncoder

__version__ = "0.1.0"


def load_backbone(path: str | Path, device: str | torch.device = "cpu") -> PretrainedEncoder:
    """A trained encoder, in eval mode with its preprocessing, from a run directory, a
    checkpoint or an export folder (``selfsup export``); see
    :func:`selfsup.export.load.load_backbone`. Imported on first call, so ``import selfsup``
    stays light."""
    from selfsup.export.load import load_backbone as load

    return load(path, device)


__all__ = ["__version__", "load_backbone"]
