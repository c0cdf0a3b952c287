"""Checkpoints that are never half-written, and finding the newest one in a run directory."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same directory, then rename over ``path``.

    A crash mid-write leaves the previous file intact; rename is atomic on POSIX and Windows.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO whose saves are atomic (temp file + rename)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO does not take storage_options")
        atomic_torch_save(checkpoint, path)


def checkpoint_dir(run_dir: str | Path) -> Path:
    """Where a run keeps its checkpoints."""
    return Path(run_dir) / "checkpoints"


STEP_IN_NAME = re.compile(r"step-(\d+)")


def checkpoint_step(path: Path) -> int:
    """The optimizer step in a checkpoint's file name (-1 if the name has none)."""
    match = STEP_IN_NAME.search(path.name)
    return int(match.group(1)) if match else -1


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint to resume from: the highest step in the file names, newest file on ties."""
    found = [p for p in checkpoint_dir(run_dir).glob("*.ckpt") if p.is_file()]
    if not found:
        return None
    return max(found, key=lambda p: (checkpoint_step(p), p.stat().st_mtime))
