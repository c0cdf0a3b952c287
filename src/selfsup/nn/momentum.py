"""Momentum (EMA) teachers: copy a module as a teacher and update it.

BYOL, MoCo and DINO keep a slowly moving copy of (part of) the student:
``teacher = m * teacher + (1 - m) * student`` after every optimizer step. These are the
functional helpers; :class:`selfsup.nn.ema_teacher.EMATeacher` ties teachers, students and the
momentum schedule (:mod:`selfsup.schedules`) together.
"""

from __future__ import annotations

import copy
from typing import TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module)


def copy_as_teacher(module: M) -> M:
    """A deep copy of ``module`` with every parameter frozen (``requires_grad=False``).

    The copy shares no storage with ``module``. Its train/eval mode is left alone: registered as
    a submodule of a method it follows the method's ``train()``/``eval()``, so during training
    its BatchNorm layers normalise with batch statistics, as the teachers of BYOL and MoCo do.
    """
    teacher = copy.deepcopy(module)
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


@torch.no_grad()
def update_momentum(student: nn.Module, teacher: nn.Module, m: float) -> None:
    """In place: ``teacher <- m * teacher + (1 - m) * student`` for parameters and buffers.

    Parameters and floating-point buffers (BatchNorm running mean/var) are averaged with the
    same ``m``, so a teacher evaluated in eval mode has statistics that match its averaged
    weights; a teacher run in train mode also refreshes its own running stats in its forward,
    and this blend only nudges them. Integer buffers (``num_batches_tracked``) are copied from
    the student. ``m = 1`` leaves the teacher unchanged, ``m = 0`` copies the student.
    """
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"update_momentum needs m in [0, 1], got {m}")
    pairs = _matched(student.named_parameters(), teacher.named_parameters(), "parameter")
    pairs += _matched(student.named_buffers(), teacher.named_buffers(), "buffer")
    weight = 1.0 - m
    for s, t in pairs:
        if t.is_floating_point():
            t.lerp_(s.to(t.dtype), weight)  # t + (1 - m) * (s - t) = m * t + (1 - m) * s
        else:
            t.copy_(s)


def _matched(
    student: object, teacher: object, kind: str
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    s, t = dict(student), dict(teacher)  # type: ignore[call-overload]
    if s.keys() != t.keys():
        missing = sorted(s.keys() ^ t.keys())
        raise ValueError(f"update_momentum: student and teacher differ in {kind} '{missing[0]}'")
    pairs = [(s[k], t[k]) for k in s]
    for k, (a, b) in zip(s, pairs, strict=True):
        if a.shape != b.shape:
            raise ValueError(
                f"update_momentum: {kind} '{k}' has shape {tuple(a.shape)} in the student "
                f"but {tuple(b.shape)} in the teacher"
            )
    return pairs
