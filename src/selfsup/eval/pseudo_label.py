"""Pseudo-label refinement: a probe trained on the labelled set labels the unlabelled pool's most
confident fraction, a second probe trains on real + pseudo labels, and both are scored on a
held-out split, so the gain of the extra (unverified) labels is measured, not assumed.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from selfsup.eval.features import Features
from selfsup.eval.linear import _fit as fit_linear  # one probe fit at a chosen weight decay
from selfsup.eval.linear import linear_probe


def select_confident(probs: torch.Tensor, fraction: float) -> torch.Tensor:
    """Indices of the ``ceil(fraction · N)`` rows of ``probs`` ``[N, C]`` with the highest top
    probability, most confident first (ties: lower index first)."""
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"probs must be [N, C] with N >= 1, got {tuple(probs.shape)}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    n = math.ceil(fraction * len(probs) - 1e-9)  # 0.1 × 30 is 3, not 4, despite float error
    confidence = probs.max(dim=1).values
    return confidence.sort(descending=True, stable=True).indices[:n]


@dataclasses.dataclass(frozen=True)
class PseudoLabelResult:
    """Held-out accuracy before and after adding pseudo labels, and how good those labels were
    (``pseudo_label_accuracy`` is None when the pool carries no true labels to check against)."""

    baseline_accuracy: float
    refined_accuracy: float
    pseudo_labels: int
    pseudo_label_accuracy: float | None
    weight_decay: float

    @property
    def gain(self) -> float:
        """Refined minus baseline held-out accuracy."""
        return self.refined_accuracy - self.baseline_accuracy


def pseudo_label_refine(
    labeled: Features,
    unlabeled: Features,
    heldout: Features,
    fraction: float = 0.5,
    epochs: int = 100,
    seed: int = 0,
) -> PseudoLabelResult:
    """Linear-probe pseudo-labelling of the top ``fraction`` of ``unlabeled`` by confidence.

    The weight decay is chosen once on a validation split of ``labeled`` and reused for the
    refined probe. Labels of ``unlabeled`` (if any, >= 0) are never used for training; they
    only measure the pseudo labels' accuracy.
    """
    if len(unlabeled) == 0:
        raise ValueError("the unlabelled pool is empty")
    if unlabeled.dim != labeled.dim:
        raise ValueError(f"pool features have D={unlabeled.dim}, labelled have D={labeled.dim}")
    base = linear_probe(labeled, heldout, epochs=epochs, seed=seed)
    num_classes = int(max(labeled.labels.max(), heldout.labels.max())) + 1
    cpu = torch.device("cpu")
    probe = fit_linear(
        labeled.features, labeled.labels, num_classes, 1.0, base.best_wd, epochs, cpu
    )
    with torch.no_grad():
        z = (unlabeled.features - probe.mean) / probe.std
        probs = probe.linear(z).softmax(dim=1)  # [U, C]
    chosen = select_confident(probs, fraction)
    pseudo = probs[chosen].argmax(dim=1)
    known = unlabeled.labels[chosen] >= 0
    pseudo_acc = (
        (pseudo[known] == unlabeled.labels[chosen][known]).float().mean().item()
        if bool(known.all())
        else None
    )
    x = torch.cat([labeled.features, unlabeled.features[chosen]])
    y = torch.cat([labeled.labels, pseudo])
    refined = fit_linear(x, y, num_classes, 1.0, base.best_wd, epochs, cpu)
    return PseudoLabelResult(
        baseline_accuracy=base.test_accuracy,
        refined_accuracy=refined.accuracy(heldout.features, heldout.labels),
        pseudo_labels=len(chosen),
        pseudo_label_accuracy=pseudo_acc,
        weight_decay=base.best_wd,
    )
