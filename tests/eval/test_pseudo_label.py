"""Pseudo-label selection takes exactly the top fraction by confidence; refinement works."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.eval.features import Features
from selfsup.eval.pseudo_label import pseudo_label_refine, select_confident


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 1.0])
def test_selects_exactly_the_top_fraction(fraction: float) -> None:
    probs = torch.randn(40, 5, generator=torch.Generator().manual_seed(0)).softmax(dim=1)
    chosen = select_confident(probs, fraction)
    conf = probs.max(dim=1).values.tolist()
    expected = sorted(range(40), key=lambda i: -conf[i])[: math.ceil(fraction * 40)]
    assert chosen.tolist() == expected
    assert len(chosen) == round(fraction * 40)


def test_ties_go_to_lower_index_and_bad_fraction_fails() -> None:
    probs = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.1, 0.9], [0.6, 0.4]])
    assert select_confident(probs, 0.5).tolist() == [1, 2]
    with pytest.raises(ValueError, match="fraction"):
        select_confident(probs, 0.0)


def blobs(n: int, seed: int) -> Features:
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.stack([y * 3.0, torch.zeros(n)], dim=1) + torch.randn(n, 2, generator=gen)
    return Features(x, y)


def test_refinement_reports_pseudo_label_quality_and_count() -> None:
    labeled, pool, heldout = blobs(10, 0), blobs(200, 1), blobs(200, 2)
    r = pseudo_label_refine(labeled, pool, heldout, fraction=0.3, epochs=50)
    assert r.pseudo_labels == 60
    assert r.pseudo_label_accuracy is not None and r.pseudo_label_accuracy > 0.9
    assert r.gain == pytest.approx(r.refined_accuracy - r.baseline_accuracy)
    assert r.refined_accuracy > 0.8


def test_balanced_selection_takes_each_predicted_class_quota() -> None:
    # 8 rows: class 0 is predicted 6 times (very confident), class 1 twice (less confident).
    probs = torch.tensor([[0.99, 0.01]] * 6 + [[0.3, 0.7], [0.4, 0.6]], dtype=torch.float32)
    overall = select_confident(probs, 0.5)
    assert set(overall.tolist()) == {0, 1, 2, 3}  # the confident class fills the share
    balanced = select_confident(probs, 0.5, balanced=True)
    # quota ceil(0.5 * 8 / 2) = 2 per class: the two best of class 0 and both of class 1.
    assert balanced.tolist() == [0, 1, 6, 7]
    # Quota 4: class 1 has only 2 rows and gives both; class 0 is capped at 4 of its 6.
    assert select_confident(probs, 1.0, balanced=True).tolist() == [0, 1, 2, 3, 6, 7]
