"""A hung rank becomes an error on the others: DDP gets the configured collective timeout, and
a timed-out collective is one line naming the rank and the setting."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from selfsup.config.load import load_config
from selfsup.engine.strategy import build_strategy, timeout_error

BASE = ["backbone.name=resnet_tiny", "augment.name=simclr", "method.name=simclr"]


def test_ddp_gets_the_configured_timeout_and_one_process_stays_auto(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    cfg = load_config(None, [*BASE, "train.strategy=ddp", "train.dist_timeout_minutes=2"])
    strategy = build_strategy(cfg.train)
    assert strategy._timeout == datetime.timedelta(minutes=2)
    several = load_config(None, [*BASE, "train.devices=2"])
    assert build_strategy(several.train)._timeout == datetime.timedelta(minutes=30)
    assert build_strategy(load_config(None, BASE).train) == "auto"
    monkeypatch.setenv("WORLD_SIZE", "4")  # under torchrun
    assert build_strategy(load_config(None, BASE).train) != "auto"


def test_a_rank_that_stops_answering_makes_the_other_fail_in_bounded_time(tmp_path: Path) -> None:
    from distributed_helpers import require_gloo, run_ranks

    require_gloo()

    def body(rank: int) -> dict[str, object]:
        if rank == 1:
            time.sleep(3.0)  # hung for a while: joins the all-reduce late
            dist.all_reduce(torch.ones(1))  # so the group can close cleanly
            return {}
        started = time.monotonic()
        work = dist.all_reduce(torch.ones(1), async_op=True)
        try:
            work.wait(timeout=datetime.timedelta(seconds=1))
        except RuntimeError as e:
            error = timeout_error(e, 1 / 60, rank)
            return {"message": str(error), "seconds": time.monotonic() - started}
        return {"message": "no timeout", "seconds": time.monotonic() - started}

    first, _ = run_ranks(body, tmp_path, timeout_s=30.0)
    assert first["message"].startswith("rank 0: a collective operation timed out after")
    assert "train.dist_timeout_minutes" in first["message"]
    assert first["seconds"] < 3.5


def test_other_errors_are_not_called_timeouts() -> None:
    assert timeout_error(RuntimeError("CUDA out of memory"), 30, 0) is None
