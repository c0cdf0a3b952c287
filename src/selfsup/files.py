"""Temporary files beside their target, for writes that must land whole (write, then rename).

``tempfile.mkstemp`` creates files readable by their owner only; a checkpoint or cache renamed
into place from one would stay ``-rw-------`` on a shared machine. Files made here get the
permissions any other new file of the process gets (``0o666`` less the umask).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask


def temp_beside(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """An open ``(fd, name)`` of a new hidden ``.NAME.*SUFFIX`` file in ``path``'s folder, with
    the umask's permissions."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    with contextlib.suppress(AttributeError, OSError):  # no fchmod (Windows): mkstemp's mode
        os.fchmod(fd, 0o666 & ~_umask())
    return fd, tmp
