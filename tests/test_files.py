"""Files written atomically get the umask's permissions, not mkstemp's owner-only mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from selfsup.engine.checkpoint import atomic_torch_save
from selfsup.eval.atomic_files import atomic_write
from selfsup.files import temp_beside


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_temporaries_and_the_files_renamed_from_them_follow_the_umask(
    tmp_path: Path, umask_022: None
) -> None:
    fd, tmp = temp_beside(tmp_path / "x.bin")
    os.close(fd)
    assert mode(tmp) == 0o644 and Path(tmp).name.startswith(".x.bin.")
    atomic_torch_save({"w": torch.zeros(2)}, tmp_path / "step.ckpt")
    assert mode(tmp_path / "step.ckpt") == 0o644
    atomic_write(tmp_path / "cache.bin", lambda f: f.write(b"abc"))
    assert mode(tmp_path / "cache.bin") == 0o644
    os.umask(0o077)
    atomic_write(tmp_path / "private.bin", lambda f: f.write(b"abc"))
    assert mode(tmp_path / "private.bin") == 0o600
