"""The interface of a modality spec: everything that differs between images, text (and, next,
audio) outside the backbones and methods themselves.

A spec says what one dataset item holds and how items batch, how an evaluation set (and a
source to embed, item by item) is named on the command line, what random view fine-tuning
trains on, what a backbone factory needs beyond its config keys, and what tiny input exercises
a backbone in tests. The engine, the
evaluation code and the contract tests ask the spec of a backbone's ``modality`` instead of
switching on its name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch.utils.data import Dataset

from selfsup.backbones.base import Backbone
from selfsup.data.collate import Batch, Item, collate
from selfsup.data.item_sources import ItemSource
from selfsup.data.skips import SkipLog
from selfsup.registry import ConfigError


class Modality(ABC):
    """One modality. Subclasses set the class attributes, implement the abstract methods and
    register with ``@register_modality(name)`` (``name`` is what ``Backbone.modality`` holds).
    """

    item: ClassVar[str]
    """Schema of an item's ``input`` as datasets of this modality yield it."""
    shape_hint: ClassVar[str]
    """The fix named when one batch's inputs differ in shape."""
    unit: ClassVar[str] = "items"
    """What throughput counts, e.g. ``img`` for "img/s" in progress lines and reports."""

    def collate(self, items: Sequence[Item | None], skips: SkipLog | None = None) -> Batch:
        """Stack items into a batch (``None`` items dropped); shape errors name the fix."""
        return collate(items, skips, self.shape_hint)

    @abstractmethod
    def eval_dataset(
        self, spec: str, encoder: Backbone, size: int | None, val_fraction: float
    ) -> Dataset[Any]:
        """The labelled evaluation set a command-line ``spec`` names, readable by ``encoder``
        (``size``: a modality's length limit; ``val_fraction``: the ``@val`` share)."""

    def item_source(
        self, spec: str, encoder: Backbone, size: int | None, val_fraction: float
    ) -> ItemSource:
        """The items a command-line ``spec`` names, read one at a time by index so ``selfsup
        embed`` streams them (``size``, ``val_fraction``: as :meth:`eval_dataset`). Default:
        this modality cannot be embedded yet."""
        raise ConfigError(f"{type(self).__name__} data cannot be embedded yet")

    @abstractmethod
    def finetune_view(
        self, x: torch.Tensor, crop_scale_min: float, flip: bool, generator: torch.Generator
    ) -> torch.Tensor:
        """The random training view of a raw batch that fine-tuning fits on (before the
        method's deterministic ``eval_input``)."""

    def same_width(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Two stored batches made joinable along the batch axis (audio: the narrower padded
        to the wider). Default: unchanged (images of different sizes stay an error)."""
        return a, b

    def compact(self, x: torch.Tensor) -> torch.Tensor:
        """A slice of a stored batch without what only pads it (audio: trailing columns that
        are padding in every clip). Default: ``x`` unchanged."""
        return x

    def batch_amount(self, encoder: Backbone) -> Callable[[Batch], float] | None:
        """How much of :attr:`unit` a training batch for ``encoder`` holds, for throughput;
        None: one per item (the default)."""
        return None

    def backbone_args(
        self, given: Mapping[str, Any], train_set: Callable[[], Any]
    ) -> dict[str, Any]:
        """Arguments a backbone factory needs beyond its config keys. ``given`` holds what the
        caller already has (a checkpoint's); ``train_set()`` builds the training split, only
        when something must come from the data. Default: nothing."""
        return {}

    def saved_backbone_args(self, state: Mapping[str, object]) -> dict[str, Any]:
        """The :meth:`backbone_args` a checkpoint's method ``state`` carries. Default: none."""
        return {}

    def tiny_backbone_args(self) -> dict[str, Any]:
        """What :meth:`backbone_args` would supply, for building a backbone in tests."""
        return {}

    @abstractmethod
    def tiny_input(
        self, backbone: Backbone, batch: int, size: int, generator: torch.Generator
    ) -> torch.Tensor:
        """A small random input ``backbone`` reads (``size``: the side or the length)."""
