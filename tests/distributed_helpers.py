"""Run a function on several gloo CPU ranks and collect what each rank returns.

Used by the DDP equivalence tests: each rank computes on its own part of a joined batch and the
parent compares the ranks' results against one process on the whole batch.
"""

from __future__ import annotations

import datetime
import importlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

RankBody = Callable[[int], dict[str, Any]]
"""What a rank runs once the process group is up: ``rank -> results`` (saved with torch.save)."""


def require_gloo() -> None:
    """Skip the calling test when torch.distributed with gloo is unavailable."""
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")


def parameter_grads(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every parameter's gradient, keyed by name without DDP's ``module.`` prefix."""
    inner = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    grads = {}
    for name, p in inner.named_parameters():
        assert p.grad is not None, f"no gradient for {name}"
        grads[name] = p.grad.detach().clone()
    return grads


def free_port() -> int:
    """A TCP port that was free a moment ago (for the rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank_main(
    rank: int, body: RankBody, port: int, world: int, timeout_s: float, out_dir: str
) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=timeout_s)
    )
    try:
        torch.save(body(rank), Path(out_dir) / f"rank{rank}.pt")
        dist.barrier()  # no rank tears down the group while another still uses it
    finally:
        dist.destroy_process_group()


def run_ranks(
    body: RankBody, out_dir: Path, world: int = 2, timeout_s: float = 60.0
) -> list[dict[str, Any]]:
    """Run ``body`` on ``world`` gloo ranks, wait at most ``timeout_s``; results in rank order.

    Fork (as DataLoader workers do, with one thread per child) instead of spawn: spawned ranks
    would each re-import torch and the torch._dynamo that DDP pulls in, which costs seconds.
    Forking also lets ``body`` be any callable, closures included (nothing is pickled).
    """
    importlib.import_module("torch._dynamo")  # once here, so the forked ranks inherit it
    args = (body, free_port(), world, timeout_s, str(out_dir))
    context = mp.start_processes(
        _rank_main, args=args, nprocs=world, join=False, start_method="fork"
    )
    deadline = time.monotonic() + timeout_s
    try:
        while not context.join(timeout=max(deadline - time.monotonic(), 0.1)):
            if time.monotonic() > deadline:
                pytest.fail(f"DDP ranks did not finish within {timeout_s:.0f} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.terminate()
                process.join(5)
    return [torch.load(out_dir / f"rank{r}.pt") for r in range(world)]
