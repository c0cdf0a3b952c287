"""What every method is: a plain ``nn.Module`` that turns a raw batch into a loss.

Methods own their view-making (augmentations are part of a method's recipe) and never import
the engine, so a user can train one in a ten-line PyTorch loop::

    method = create_method("simclr", backbone=create_backbone("resnet18"), augment=views)
    opt = torch.optim.SGD(method.parameters(), lr=0.1)
    for step, batch in enumerate(loader, start=1):
        out = method.training_step(batch)
        opt.zero_grad(); out["loss"].backward(); opt.step()
        method.on_step_end(step, max_steps)  # step = optimizer steps done: 1 after the first
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.nn.step_counter import upgrade_counter_keys

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


VIEW_MODALITIES: tuple[str, ...] = ("image", "audio")
"""The modalities with view recipes (``selfsup.augment``): a method that touches only its
``views`` and ``backbone.forward_features`` declares ``modality = VIEW_MODALITIES``."""


def method_modalities(method: type[Method] | Method) -> tuple[str, ...]:
    """The modalities a method class (or instance) trains on: its ``modality``, one name or
    a tuple of names, as a tuple."""
    declared = getattr(method, "modality", "image")
    return (declared,) if isinstance(declared, str) else tuple(declared)


class Method(nn.Module):
    """Base class: ``training_step(batch) -> {"loss": ..., metrics...}``.

    ``training_step`` may also return ``embedding``: a detached ``[B, D]`` representation of the
    batch (before any head) that the engine uses for label-free collapse monitors, and
    ``sample_loss`` (see ``reports_sample_loss``).

    ``modality`` names what the method's backbone must encode: one modality (``"text"``) or
    several (``("image", "audio")``) for a method that only sees its ``views`` and the
    backbone's ``forward_features``, and so works on whatever its augment makes views of.
    """

    modality: ClassVar[str | tuple[str, ...]] = "image"
    requires_tokens: ClassVar[bool] = False
    schedulable: ClassVar[dict[str, tuple[float, float]]] = {}
    """Attributes a curriculum may move during training (the method reads them at every
    step), each with the open interval of values it accepts."""
    reports_sample_loss: ClassVar[bool] = False
    """Whether ``training_step`` also returns ``sample_loss``: one differentiable loss per
    sample of the batch whose mean is ``loss`` (self-paced learning weights them)."""

    def __init__(self, backbone: Backbone, augment: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.augment = augment

    def schedulable_range(self, key: str) -> tuple[float, float]:
        """The open interval a scheduled ``key`` must stay in (``schedulable``'s, unless a
        method's range depends on how it was built)."""
        return type(self).schedulable[key]

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Compute the loss for one batch; ``generator`` drives the random views."""
        raise NotImplementedError

    def validation_loss(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        """The loss of a held-out batch, computed without side effects (no queue, centre or
        teacher update), for the engine's periodic ``val_loss``; ``generator`` fixes any
        randomness (masks) so successive evaluations compare. Default: None, no such loss
        (a view-based loss on held-out data says little about a run's progress)."""
        return None

    def check_train_data(self, dataset: Any) -> None:
        """Raise a one-line ConfigError when ``dataset`` (the training split) cannot feed this
        method, e.g. HuBERT's frame labels made for another encoder; the engine calls it
        before training. Default: nothing to check."""

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Hook after each optimizer step (teacher EMA updates, step counters). Default: nothing.

        ``step`` is the number of optimizer steps done so far, this one included: 1 after the
        first step, ``max_steps`` after the last (the engine passes its ``global_step``).
        ``max_steps`` is the run's length in steps, which step schedules span.
        """

    def views(self, batch: Batch, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """The method's random views of the raw batch (its ``augment``, on the batch's device)."""
        if self.augment is None:
            raise ValueError(f"{type(self).__name__} was built without an augment to make views")
        return list(self.augment(batch["input"], generator=generator))

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

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        # Runs before the submodules load: older checkpoints get their step counters' keys.
        upgrade_counter_keys(self, state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args)
