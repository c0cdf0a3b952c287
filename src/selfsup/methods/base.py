"""What every method is: a plain ``nn.Module`` that turns a raw batch into a loss.

Methods own their view-making (augmentations are part of a method's recipe) and never import
the engine, so a user can train one in a ten-line PyTorch loop::

    method = create_method("simclr", backbone=create_backbone("resnet18"), augment=views)
    opt = torch.optim.SGD(method.parameters(), lr=0.1)
    for step, batch in enumerate(loader):
        out = method.training_step(batch)
        opt.zero_grad(); out["loss"].backward(); opt.step()
        method.on_step_end(step, max_steps)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import ClassVar

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.nn.momentum import update_momentum

Batch = dict[str, torch.Tensor]
"""A collated batch: ``input`` (uint8 images, waveforms or token ids) and ``label`` (-1 if none)."""


def encode_by_shape(
    encode: Callable[[torch.Tensor], torch.Tensor], views: Sequence[torch.Tensor]
) -> torch.Tensor:
    """``encode`` of all views concatenated in order, one call per run of equal-shape views.

    Multi-crop views come as globals then locals, so this is one pass per crop size.
    """
    return torch.cat(
        [encode(torch.cat(list(g))) for _, g in itertools.groupby(views, key=lambda v: v.shape)]
    )


class Method(nn.Module):
    """Base class: ``training_step(batch) -> {"loss": ..., metrics...}``.

    ``training_step`` may also return ``embedding``: a detached ``[B, D]`` representation of the
    batch (before any head) that the engine uses for label-free collapse monitors.
    """

    modality: ClassVar[str] = "image"
    requires_tokens: ClassVar[bool] = False
    # Teacher module name -> the student module it tracks by EMA (empty: no teacher).
    teacher_of: ClassVar[dict[str, str]] = {}

    def __init__(self, backbone: Backbone, augment: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.augment = augment

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Compute the loss for one batch; ``generator`` drives the random views."""
        raise NotImplementedError

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Hook after each optimizer step (teacher EMA updates, schedules). Default: nothing."""

    def views(self, batch: Batch, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """The method's random views of the raw batch (its ``augment``, on the batch's device)."""
        if self.augment is None:
            raise ValueError(f"{type(self).__name__} was built without an augment to make views")
        return list(self.augment(batch["input"], generator=generator))

    @torch.no_grad()
    def update_teachers(self, momentum: float) -> None:
        """EMA-update every teacher in ``teacher_of`` towards its student."""
        for teacher, student in self.teacher_of.items():
            update_momentum(getattr(self, student), getattr(self, teacher), momentum)

    def encoder(self) -> Backbone:
        """The backbone whose features are evaluated and exported."""
        return self.backbone

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic preprocessing of a raw batch for evaluation (resize + normalise)."""
        eval_view = getattr(self.augment, "eval_view", None)
        return eval_view(x) if callable(eval_view) else x

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluation features ``[B, D]`` of a raw batch: what kNN, probes and exports see."""
        return self.encoder().forward_features(self.eval_input(x))
