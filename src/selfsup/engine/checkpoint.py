"""Checkpoints that are never half-written, and finding the newest one in a run directory."""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from selfsup.engine.progress import outside_training
from selfsup.files import temp_beside
from selfsup.registry import RunError

# Write failures that are the disk's, not the data's: say so in one line.
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


class CheckpointWriteError(RunError):
    """A checkpoint could not be written (disk full, read-only, no permission)."""


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same directory, then rename over ``path``.

    A crash mid-write leaves the previous file intact; rename is atomic on POSIX and Windows.
    A write the disk refuses (full, read-only) raises :class:`CheckpointWriteError`, one line
    naming the path, the space needed and free, and the last good checkpoint.
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(path)
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        written = _size(tmp)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        cause = _disk_cause(e)
        if cause is None:
            raise
        raise CheckpointWriteError(_write_failure(path, cause, written)) from None


def _size(path: str | None) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def _disk_cause(e: BaseException) -> OSError | None:
    """The disk's OSError behind ``e`` (torch's writer wraps it in a RuntimeError), if any."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _DISK_ERRNOS:
            return seen
        seen = seen.__cause__ or seen.__context__
    if isinstance(e, RuntimeError) and "unexpected pos" in str(e):  # short write, errno lost
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return None


def _write_failure(path: Path, cause: OSError, written: int) -> str:
    folder = path.parent if path.parent.exists() else Path(path.anchor or ".")
    free = shutil.disk_usage(folder).free if folder.exists() else 0
    others = [p for p in folder.glob("*.ckpt") if p.is_file() and p != path]
    needed = max([written, *(p.stat().st_size for p in others)])
    last = max(others, key=lambda p: (checkpoint_step(p), p.stat().st_mtime), default=None)
    kept = f"last good checkpoint: {last}" if last else "no earlier checkpoint"
    return (
        f"cannot write checkpoint {path}: {cause.strerror or cause} "
        f"(needs about {_mb(needed)}, {_mb(free)} free); {kept}"
    )


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


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


class PeriodicCheckpoint(L.Callback):
    """Save every ``every_n_steps`` steps, after each epoch's last batch, at ``max_steps`` and
    when training ends early (time budget, collapse stop), so no step is lost.

    Saves happen at the end of a training batch (or right after the last one), so every
    checkpoint restores through the same path (exact mid-epoch resume); only the newest
    ``keep_last`` are kept.
    """

    def __init__(self, dirpath: Path, every_n_steps: int, keep_last: int) -> None:
        if every_n_steps < 1 or keep_last < 1:
            raise ValueError("every_n_steps and keep_last must be >= 1")
        self.dirpath, self.every_n_steps, self.keep_last = Path(dirpath), every_n_steps, keep_last
        self.last_saved_step: int | None = None
        self.seconds = 0.0  # spent saving in this launch

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        step = trainer.global_step
        epoch_end = trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
        at_max = 0 < trainer.max_steps <= step
        if step % self.every_n_steps and not epoch_end and not at_max:
            return
        self._save(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step > 0 and trainer.global_step != self.last_saved_step:
            self._save(trainer)

    def _save(self, trainer: L.Trainer) -> None:
        step = trainer.global_step
        self.last_saved_step = step
        path = self.dirpath / f"step-{step:08d}.ckpt"
        clock = getattr(trainer.lightning_module, "clock", None)
        with outside_training(clock, "final checkpoint", 1.5) as timing:
            trainer.save_checkpoint(path)  # every rank calls it; the strategy writes on rank 0
        self.seconds += timing.seconds
        if trainer.is_global_zero:
            saved = sorted(self.dirpath.glob("step-*.ckpt"), key=checkpoint_step)
            for old in saved[: -self.keep_last]:
                old.unlink(missing_ok=True)
