"""Pseudo-label refinement: a probe trained on the labelled set labels the unlabelled pool's most
confident fraction, a second probe trains on real + pseudo labels, and both are scored on a
held-out split, so the gain of the extra (unverified) labels is measured, not assumed.

The fine-tuned labeller (whole network instead of a probe) is in ``pseudo_label_finetune``.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from selfsup.eval.features import Features
from selfsup.eval.linear import _fit as fit_linear  # one probe fit at a chosen weight decay
from selfsup.eval.linear import linear_probe


def select_confident(probs: torch.Tensor, fraction: float, balanced: bool = False) -> torch.Tensor:
    """Indices of the ``ceil(fraction · N)`` rows of ``probs`` ``[N, C]`` with the highest top
    probability, most confident first (ties: lower index first).

    ``balanced``: instead take, within each predicted class, its ``ceil(fraction · N / C)``
    most confident rows (all of them when it has fewer), so a labeller that favours a few
    classes cannot fill the pseudo-labelled set with them (Noisy Student's per-class top-K).
    """
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"probs must be [N, C] with N >= 1, got {tuple(probs.shape)}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    confidence, predicted = probs.max(dim=1)
    order = confidence.sort(descending=True, stable=True).indices
    if not balanced:
        n = math.ceil(fraction * len(probs) - 1e-9)  # 0.1 × 30 is 3, not 4, despite float error
        return order[:n]
    quota = math.ceil(fraction * len(probs) / probs.shape[1] - 1e-9)
    ranked_class = predicted[order]  # classes in confidence order
    # Position of each row among the rows of its own class, in confidence order.
    within = torch.zeros_like(order)
    for c in ranked_class.unique():
        members = ranked_class == c
        within[members] = torch.arange(int(members.sum()))
    return order[within < quota]


def pseudo_label_accuracy(pseudo: torch.Tensor, truth: torch.Tensor) -> float | None:
    """Share of ``pseudo`` labels equal to ``truth``; None unless every truth label is >= 0."""
    if len(truth) == 0 or not bool((truth >= 0).all()):
        return None
    return (pseudo == truth).float().mean().item()


@dataclasses.dataclass(frozen=True)
class PseudoLabelResult:
    """Held-out accuracy before and after adding pseudo labels, and how good those labels were
    (``pseudo_label_accuracy`` is None when the pool carries no true labels to check against).

    ``labeller`` names the model that labelled the pool and was retrained: ``"linear"`` (probe
    on frozen features, with its chosen ``weight_decay``) or ``"finetune"`` (whole network);
    ``class_balanced`` says whether the confident share was taken per predicted class.
    """

    baseline_accuracy: float
    refined_accuracy: float
    pseudo_labels: int
    pseudo_label_accuracy: float | None
    labeller: str
    weight_decay: float | None = None
    class_balanced: bool = True

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
    balanced: bool = True,
) -> PseudoLabelResult:
    """Linear-probe pseudo-labelling of the top ``fraction`` of ``unlabeled`` by confidence
    (per predicted class when ``balanced``, see :func:`select_confident`).

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
    chosen = select_confident(probs, fraction, balanced)
    pseudo = probs[chosen].argmax(dim=1)
    x = torch.cat([labeled.features, unlabeled.features[chosen]])
    y = torch.cat([labeled.labels, pseudo])
    refined = fit_linear(x, y, num_classes, 1.0, base.best_wd, epochs, cpu)
    return PseudoLabelResult(
        baseline_accuracy=base.test_accuracy,
        refined_accuracy=refined.accuracy(heldout.features, heldout.labels),
        pseudo_labels=len(chosen),
        pseudo_label_accuracy=pseudo_label_accuracy(pseudo, unlabeled.labels[chosen]),
        labeller="linear",
        weight_decay=base.best_wd,
        class_balanced=balanced,
    )
