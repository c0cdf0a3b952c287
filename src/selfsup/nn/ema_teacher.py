"""The EMA teacher of BYOL, MoCo, DINO and data2vec, written once.

After every optimizer step each teacher moves towards its student,
``teacher <- m * teacher + (1 - m) * student``, with the momentum ``m`` of this step.
"""

from __future__ import annotations

from typing import Literal, TypeVar

import torch
from torch import nn

from selfsup.nn.momentum import copy_as_teacher, update_momentum
from selfsup.nn.step_counter import StepCounter
from selfsup.schedules import cosine_momentum, linear_momentum

M = TypeVar("M", bound=nn.Module)
MomentumSchedule = Literal["constant", "cosine", "linear"]


class EMATeacher(StepCounter):
    """Student -> teacher pairs, their momentum schedule and the optimizer steps done.

    Schedules: ``"constant"`` (``base``; MoCo v2), ``"cosine"`` (``base -> final`` on a half
    cosine over the run; BYOL, MoCo v3, DINO) and ``"linear"`` (``base -> final`` over
    ``anneal_steps``, then ``final``; data2vec). ``steps_done`` is a persistent buffer, so an
    exact resume continues the count.

    The teachers themselves are registered on the method under their own names (checkpoints
    keep their keys); this block only holds references to the pairs, so it adds nothing but
    ``steps_done`` to the state dict.

    Args:
        schedule: how the momentum moves over the run.
        base: momentum at step 0 (the constant one for ``"constant"``).
        final: momentum at the end (``"cosine"``, ``"linear"``); ignored for ``"constant"``.
        anneal_steps: length of the ``"linear"`` ramp (<= 0: ``final`` from the start).
        owner: name in error messages (e.g. ``"BYOL"``).
    """

    def __init__(
        self,
        schedule: MomentumSchedule,
        base: float,
        final: float = 1.0,
        anneal_steps: int = 0,
        owner: str = "EMA teacher",
    ) -> None:
        super().__init__()
        if schedule == "constant":
            if not 0.0 <= base <= 1.0:
                raise ValueError(f"{owner} momentum must be in [0, 1], got {base}")
        elif schedule in ("cosine", "linear"):
            if not 0.0 <= base <= final <= 1.0:
                raise ValueError(
                    f"{owner} needs 0 <= momentum_base <= momentum_final <= 1, got "
                    f"{base} and {final}"
                )
        else:
            raise ValueError(f"momentum schedule must be constant, cosine or linear: {schedule}")
        self.schedule: MomentumSchedule = schedule
        self.base, self.final, self.anneal_steps = float(base), float(final), anneal_steps
        self.momentum = self.base  # the momentum of the latest update (methods log it)
        # Plain references, not submodules: the method owns (and names) both sides.
        self._pairs: list[tuple[nn.Module, nn.Module]] = []

    def track(self, student: M) -> M:
        """A frozen copy of ``student`` that follows it from now on; for a student already
        tracked (a head shared by two roles, as in iBOT), its existing teacher."""
        for s, t in self._pairs:
            if s is student:
                return t  # type: ignore[return-value]
        teacher = copy_as_teacher(student)
        self._pairs.append((student, teacher))
        return teacher

    @property
    def pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """The distinct (student, teacher) pairs, in the order they were tracked."""
        return list(self._pairs)

    def momentum_at(self, steps_done: int, max_steps: int) -> float:
        """The momentum of the update after ``steps_done`` optimizer steps of ``max_steps``."""
        if self.schedule == "cosine":
            return cosine_momentum(steps_done, max_steps, self.base, self.final)
        if self.schedule == "linear":
            return linear_momentum(steps_done, self.anneal_steps, self.base, self.final)
        return self.base

    @torch.no_grad()
    def step(self, steps_done: int, max_steps: int) -> float:
        """Record ``steps_done`` and move every teacher towards its student; the momentum."""
        self.record(steps_done)
        self.momentum = self.momentum_at(steps_done, max_steps)
        for student, teacher in self._pairs:
            update_momentum(student, teacher, self.momentum)
        return self.momentum
