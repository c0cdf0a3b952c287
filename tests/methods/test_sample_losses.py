"""Methods that report per-sample losses (self-paced learning weights them): one loss per
sample, differentiable, whose mean is the step's loss."""

from __future__ import annotations

import pytest
import torch

from selfsup.methods import list_methods
from selfsup.methods.registry import METHODS
from tiny_methods import build_tiny

REPORTING = [n for n in list_methods() if METHODS.get(n).reports_sample_loss]


def test_the_pretext_classifiers_report_them() -> None:
    assert {"simclr", "mae", "rotation", "jigsaw", "relative_position"} <= set(REPORTING)


@pytest.mark.parametrize("name", REPORTING)
def test_sample_losses_average_to_the_loss(name: str) -> None:
    torch.manual_seed(0)
    method, batch = build_tiny(name)
    out = method.training_step(batch, torch.Generator().manual_seed(0))
    sample = out["sample_loss"]
    assert sample.shape == (batch["input"].shape[0],)
    assert sample.requires_grad and torch.isfinite(sample).all()
    assert torch.allclose(sample.mean(), out["loss"], atol=1e-6)
    assert sample.std() > 0  # different images, different losses
