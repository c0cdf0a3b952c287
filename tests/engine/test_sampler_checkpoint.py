"""Resumable sampler and atomic checkpoint writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from selfsup.engine.checkpoint import atomic_torch_save, latest_checkpoint
from selfsup.engine.sampler import ResumableSampler


def test_ranks_partition_each_epoch_without_overlap() -> None:
    samplers = [ResumableSampler(103, seed=3, rank=r, world_size=2) for r in range(2)]
    for epoch in range(3):
        seen = []
        for s in samplers:
            s.set_epoch(epoch)
            seen.append(list(s))
        assert len(seen[0]) == len(seen[1]) == 51
        assert not set(seen[0]) & set(seen[1])
    samplers[0].set_epoch(0)
    first = list(samplers[0])
    samplers[0].set_epoch(1)
    assert list(samplers[0]) != first


def test_skip_resumes_mid_epoch_once() -> None:
    s = ResumableSampler(20, seed=1)
    s.set_epoch(2)
    full = list(s)
    s.skip(7, epoch=2)
    assert list(s) == full[7:]
    assert list(s) == full  # the skip applies to one pass only
    s.skip(5, epoch=2)
    s.set_epoch(3)  # a new epoch cancels a pending skip
    assert len(list(s)) == 20


def test_atomic_save_keeps_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints" / "step-00000007.ckpt"
    atomic_torch_save({"step": 1}, path)

    class Boom:
        def __reduce__(self) -> tuple[object, ...]:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_torch_save({"step": 2, "bad": Boom()}, path)
    assert torch.load(path)["step"] == 1
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    assert latest_checkpoint(tmp_path) == path
    older = path.parent / "epoch-0000-step-00000005.ckpt"
    atomic_torch_save({"step": 5}, older)  # written later, but an earlier step
    assert latest_checkpoint(tmp_path) == path
