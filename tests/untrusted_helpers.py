"""Crafted files for the untrusted-input tests: a pickle whose loading has a visible side
effect, and a copy of a real run whose checkpoint carries one."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from selfsup.engine.checkpoint import latest_checkpoint


class Payload:
    """Unpickling this creates the file ``marker``: the side effect a real attack would hide."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


def poisoned_copy(run_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the run whose checkpoint is real but for one extra, poisoned key; returns the
    copy and the marker file the payload would create."""
    bad_run = tmp_path / "bad"
    shutil.copytree(run_dir, bad_run)
    ckpt = latest_checkpoint(bad_run)
    assert ckpt is not None
    marker = tmp_path / "payload-ran"
    state = torch.load(ckpt, weights_only=True)
    state["extra"] = Payload(marker)
    torch.save(state, ckpt)
    return bad_run, marker


def pickled_payload(path: Path, marker: Path) -> Path:
    """Write a plain pickle of a payload to ``path`` (whatever its name promises)."""
    torch.save({"weights": Payload(marker)}, path)
    return path
