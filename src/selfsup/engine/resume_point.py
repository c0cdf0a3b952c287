"""Which checkpoint a resume starts from: the newest one that reads back whole.

A kill during a write leaves only a hidden temp file (writes are atomic), but a checkpoint can
still be damaged later (a copy cut short, a disk error). Resume then falls back to the newest
good checkpoint and says which one it skipped; a file refused as untrusted is never skipped
silently: the resume stops and names it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from selfsup.engine.checkpoint import checkpoint_dir, checkpoint_step
from selfsup.engine.safe_load import UntrustedCheckpointError, read_checkpoint
from selfsup.registry import ConfigError

log = logging.getLogger("selfsup.engine")


def remove_stale_temp_files(run_dir: Path) -> int:
    """Delete the temp files of checkpoint writes that never finished; how many there were."""
    stale = list(checkpoint_dir(run_dir).glob(".*.ckpt.*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def resume_checkpoint(run_dir: Path) -> Path:
    """The newest checkpoint of ``run_dir`` that loads (weights-only); ConfigError if none."""
    found = [p for p in checkpoint_dir(run_dir).glob("*.ckpt") if p.is_file()]
    if not found:
        raise ConfigError(f"nothing to resume: no checkpoint in {checkpoint_dir(run_dir)}")
    newest_first = sorted(found, key=lambda p: (checkpoint_step(p), p.stat().st_mtime))[::-1]
    broken: list[str] = []
    for path in newest_first:
        try:
            read_checkpoint(path)
        except UntrustedCheckpointError:
            raise
        except ConfigError as e:
            broken.append(str(e))
            continue
        for reason in broken:
            log.warning("%s; resuming from %s instead", reason, path.name)
        return path
    raise ConfigError(f"no readable checkpoint in {checkpoint_dir(run_dir)}: {broken[0]}")
