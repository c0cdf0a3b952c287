"""Optimizer steps done, kept in the state dict so a resumed run resumes its step schedules."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

COUNTER = "steps_done"


class StepCounter(nn.Module):
    """A persistent ``steps_done`` buffer: optimizer steps done so far (0 before the first).

    Methods read it for step-gated logic (DINO's frozen last layer, SwAV's frozen prototypes)
    instead of keeping their own count; it is saved with the weights, so an exact resume sees
    the count it stopped at.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer(COUNTER, torch.zeros((), dtype=torch.long))
        self.steps_done: torch.Tensor

    def record(self, steps_done: int) -> None:
        """Store the number of optimizer steps done (what ``Method.on_step_end`` receives)."""
        if steps_done < 0:
            raise ValueError(f"steps done must be >= 0, got {steps_done}")
        self.steps_done.fill_(steps_done)

    def count(self) -> int:
        """Optimizer steps done so far."""
        return int(self.steps_done)


def upgrade_counter_keys(root: nn.Module, state: dict[str, Any], prefix: str) -> None:
    """In place: give ``state`` (of ``root``, keys under ``prefix``) a counter for every
    :class:`StepCounter` of ``root`` it lacks.

    Checkpoints from before the counters were blocks kept ``steps_done`` on the method itself
    (DINO, SwAV) or had none (other teachers, whose schedules read the engine's step): the
    former is moved under the counter's name, the latter starts at 0 and is set at the next
    optimizer step.
    """
    legacy = prefix + COUNTER
    for name, module in root.named_modules():
        key = f"{prefix}{name}.{COUNTER}"
        if name and isinstance(module, StepCounter) and key not in state:
            state[key] = state.pop(legacy) if legacy in state else torch.zeros((), dtype=torch.long)
