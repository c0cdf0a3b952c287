"""Files written whole or not at all: a temporary file beside the target, then a rename.

A kill mid-write leaves the previous file (or none) in place, plus at most a hidden
``.NAME.*.tmp`` that :func:`remove_stale_temporaries` clears on the next run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from selfsup.files import temp_beside
from selfsup.registry import RunError

TMP_SUFFIX = ".tmp"


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file in ``path``'s folder, sync it, and rename it
    over ``path``. A write the disk refuses is a one-line :class:`RunError` naming ``path``."""
    tmp: str | None = None
    try:
        fd, tmp = temp_beside(path, TMP_SUFFIX)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise RunError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def remove_stale_temporaries(folder: Path, prefix: str = ".") -> int:
    """Delete the temporaries a killed :func:`atomic_write` left in ``folder``; their count."""
    stale = [p for p in folder.glob(f"{prefix}*{TMP_SUFFIX}") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return len(stale)
