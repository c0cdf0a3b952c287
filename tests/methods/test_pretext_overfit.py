"""Every pretext method solves its task on one tiny fixed batch (8 images, fixed draws)."""

from __future__ import annotations

import pytest

from pretext_helpers import overfit

# name, image size, max steps, lr, constructor arguments, accuracy to reach.
CLASSIFIERS = [
    ("rotation", 16, 60, 1e-3, {"hidden_dim": 64}, 1.0),
    ("jigsaw", 32, 80, 1e-3, {"hidden_dim": 64, "num_permutations": 8}, 1.0),
    ("relative_position", 32, 60, 1e-3, {"hidden_dim": 64}, 1.0),
    # Per-pixel bins of 8 images in 4 flat colours each (one per cell of the 2x2 map).
    ("colorization", 16, 150, 1e-2, {"decoder_width": 32, "blocks": True}, 0.95),
]


@pytest.mark.parametrize(
    ("name", "size", "steps", "lr", "kwargs", "target"), CLASSIFIERS, ids=lambda v: str(v)
)
def test_pretext_classifier_overfits_a_tiny_batch(
    name: str, size: int, steps: int, lr: float, kwargs: dict, target: float
) -> None:
    accuracy = overfit(name, size, steps, lr, "pretext_acc", stop_at=target, **kwargs)
    assert accuracy[0] < 0.6, accuracy[0]  # the task is not solved before training
    assert max(accuracy) >= target, accuracy[-5:]


@pytest.mark.parametrize(
    "kwargs",
    [{"decoder_width": 32}, {"decoder_width": 32, "target": "regression"}],
    ids=["inpainting", "colorization-regression"],
)
def test_reconstruction_losses_fall_on_a_tiny_batch(kwargs: dict) -> None:
    name = "colorization" if "target" in kwargs else "inpainting"
    metric = "loss" if name == "colorization" else "reconstruction_loss"
    losses = overfit(name, 16, 60, 1e-2, metric, **kwargs)
    assert losses[-1] < 0.15 * losses[0], (losses[0], losses[-1])
