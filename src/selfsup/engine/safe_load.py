"""Read a checkpoint file without trusting it.

A checkpoint is a pickle inside a zip; unpickling an arbitrary one runs whatever code it names.
selfsup checkpoints hold only tensors and plain data (the run config as dicts, a tokenizer as
JSON text), so every file is read with ``torch.load(weights_only=True)``: anything else is
refused before a single object of it is built.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from selfsup.registry import ConfigError

# How torch's weights-only unpickler names a global it refuses to import.
_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")


class UntrustedCheckpointError(ConfigError):
    """The file holds objects that are neither tensors nor plain data; it was not loaded."""


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's top-level dict, loaded weights-only; one-line errors otherwise."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = _GLOBAL.search(str(e))
        if found is None:  # bytes the unpickler cannot parse: damaged, or not a checkpoint
            raise ConfigError(f"cannot read checkpoint {path} (damaged or not one)") from None
        raise UntrustedCheckpointError(
            f"refused checkpoint {path}: it names {found.group(1)}, not tensors or plain data, "
            "and loading it could run code"
        ) from None
    except (OSError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise ConfigError(
            f"cannot read checkpoint {path} (truncated or not one?): {reason}"
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise ConfigError(f"{path} is not a selfsup checkpoint (no state_dict inside)")
    return ckpt
