"""Data-dependent initialisation before training: the patch-whitened stem."""

from __future__ import annotations

import logging
from typing import Any

import torch

from selfsup.config.schema import RunConfig
from selfsup.methods.base import Method
from selfsup.nn.whitening import whiten_conv_
from selfsup.registry import ConfigError

logger = logging.getLogger(__name__)


def init_stem(method: Method, cfg: RunConfig, dataset: Any) -> None:
    """The run's data-dependent stem initialisation, where its config asks for one
    (``train.whiten_stem_images``): what a fresh run does to its network before step 1."""
    if cfg.train.whiten_stem_images:
        whiten_stem(method, dataset, cfg.train.whiten_stem_images, cfg.train.seed)


def whiten_stem(method: Method, dataset: Any, images: int, seed: int) -> int:
    """Set the backbone's stem to ± patch-whitening filters of ``images`` training images.

    The images are a seeded random sample (the same on every DDP rank), preprocessed as
    evaluation inputs are (resize + normalise), so the filters whiten what the network sees.
    Returns the number of filters set.
    """
    conv = method.backbone.stem_conv()
    if conv is None:
        raise ConfigError(
            f"train.whiten_stem_images needs a conv stem; {type(method.backbone).__name__} has none"
        )
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(dataset), generator=gen)[:images].tolist()
    items = [dataset[i] for i in order]
    batch = [item["input"] for item in items if item is not None]  # unreadable files skipped
    if not batch:
        raise ConfigError("train.whiten_stem_images: none of the sampled images could be read")
    with torch.no_grad():
        x = method.eval_input(torch.stack(batch).to(conv.weight.device))
    filled = whiten_conv_(conv, x)
    logger.info(
        "stem: %d of %d filters whitened from %d images", filled, conv.out_channels, len(batch)
    )
    return filled
