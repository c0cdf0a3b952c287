"""A few real optimizer steps of a method on one batch, shared by the method tests."""

from __future__ import annotations

import torch

from selfsup.methods.base import Batch, Method


def random_batch(size: int = 20, n: int = 8) -> Batch:
    """``n`` random uint8 RGB images of ``size`` px, unlabeled."""
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8)
    return {"input": images, "label": torch.full((n,), -1)}


def train_steps(
    method: Method, batch: Batch, optimizer: torch.optim.Optimizer, steps: int = 5
) -> dict[str, torch.Tensor]:
    """Run ``steps`` training steps (asserting a finite loss each time); the last step's output."""
    gen = torch.Generator().manual_seed(0)
    out: dict[str, torch.Tensor] = {}
    for step in range(steps):
        out = method.training_step(batch, generator=gen)
        assert torch.isfinite(out["loss"]), step
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        method.on_step_end(step + 1, steps)
    return out
