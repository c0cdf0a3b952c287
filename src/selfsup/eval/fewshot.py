"""Few-label evaluation: probe on N labels per class (or a fraction / a count), several seeds.

The labelled subset is drawn class-balanced from the train features and is a pure function of
``(labels, seed)``; the probe is the linear probe (weight decay chosen on a validation split of
the subset when every class has >= 2 items, else the fixed ``weight_decay``) and optionally kNN.
Accuracy on the full test split is reported per seed and as mean ± std over seeds.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

import torch

from selfsup.eval.features import Features
from selfsup.eval.knn import knn_accuracy
from selfsup.eval.linear import _fit as fit_linear  # one probe fit, no validation sweep
from selfsup.eval.linear import linear_probe


def sample_few_labels(
    labels: torch.Tensor,
    seed: int,
    per_class: int | None = None,
    fraction: float | None = None,
    count: int | None = None,
) -> torch.Tensor:
    """Sorted indices of a class-balanced labelled subset; give exactly one of the three sizes.

    ``per_class``: that many items of every class (each class must have them). ``fraction`` or
    ``count``: ``round(fraction · N)`` or ``count`` items split over classes in proportion to
    their size (largest remainders get the leftovers), at least one per class.
    """
    if sum(v is not None for v in (per_class, fraction, count)) != 1:
        raise ValueError("give exactly one of per_class, fraction or count")
    if labels.ndim != 1 or len(labels) == 0 or int(labels.min()) < 0:
        raise ValueError("few-label sampling needs a non-empty [N] tensor of labels >= 0")
    classes, sizes = torch.unique(labels, return_counts=True)
    if per_class is not None:
        if per_class < 1:
            raise ValueError(f"per_class must be >= 1, got {per_class}")
        short = classes[sizes < per_class].tolist()
        if short:
            raise ValueError(f"classes {short} have fewer than {per_class} labelled items")
        take = torch.full_like(sizes, per_class)
    else:
        if fraction is not None and not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        total = round(fraction * len(labels)) if fraction is not None else int(count or 0)
        if not len(classes) <= total <= len(labels):
            raise ValueError(
                f"need between {len(classes)} (one per class) and {len(labels)} labels, got {total}"
            )
        take = _allocate(sizes, total)
    gen = torch.Generator().manual_seed(seed)
    chosen = []
    for c, n in zip(classes.tolist(), take.tolist(), strict=True):
        idx = (labels == c).nonzero().flatten()
        chosen.append(idx[torch.randperm(len(idx), generator=gen)[:n]])
    return torch.cat(chosen).sort().values


def _allocate(sizes: torch.Tensor, total: int) -> torch.Tensor:
    """Split ``total`` over classes proportionally to ``sizes``, >= 1 each, never above a size."""
    share = sizes.double() * (total - len(sizes)) / sizes.sum()
    take = share.floor().long() + 1
    take = torch.minimum(take, sizes)
    order = (share - share.floor()).argsort(descending=True, stable=True).tolist()
    while int(take.sum()) < total:
        for c in order:
            if int(take.sum()) == total:
                break
            if take[c] < sizes[c]:
                take[c] += 1
    return take


@dataclasses.dataclass(frozen=True)
class FewShotResult:
    """Test accuracy per seed and its mean and (sample) std, for each probe."""

    labels_used: int
    per_seed: dict[str, list[float]]

    def summary(self) -> dict[str, float]:
        """``<probe>_mean`` and ``<probe>_std`` for every probe."""
        out: dict[str, float] = {}
        for probe, accs in self.per_seed.items():
            out[f"{probe}_mean"] = statistics.fmean(accs)
            out[f"{probe}_std"] = statistics.stdev(accs) if len(accs) > 1 else 0.0
        return out


def fewshot_evaluate(
    train: Features,
    test: Features,
    seeds: Sequence[int] = (0, 1, 2),
    per_class: int | None = None,
    fraction: float | None = None,
    count: int | None = None,
    knn_k: int | None = None,
    weight_decay: float = 1e-3,
    epochs: int = 100,
) -> FewShotResult:
    """Linear probe (and kNN with ``knn_k`` neighbours, if given) trained on a few labels.

    One labelled subset per seed (see :func:`sample_few_labels`); the same subsets for every
    probe, so probes are compared on equal footing.
    """
    if not seeds:
        raise ValueError("give at least one seed")
    if train.dim != test.dim:
        raise ValueError(f"train features have D={train.dim} but test features have D={test.dim}")
    num_classes = int(max(train.labels.max(), test.labels.max())) + 1
    results: dict[str, list[float]] = {"linear": []}
    if knn_k is not None:
        results["knn"] = []
    used = 0
    for seed in seeds:
        idx = sample_few_labels(train.labels, seed, per_class, fraction, count)
        used = len(idx)
        subset = Features(train.features[idx], train.labels[idx])
        results["linear"].append(
            _linear_accuracy(subset, test, num_classes, weight_decay, epochs, seed)
        )
        if knn_k is not None:
            acc = knn_accuracy(subset.features, subset.labels, test.features, test.labels, k=knn_k)
            results["knn"].append(acc)
    return FewShotResult(labels_used=used, per_seed=results)


def _linear_accuracy(
    subset: Features, test: Features, num_classes: int, wd: float, epochs: int, seed: int
) -> float:
    if int(torch.unique(subset.labels, return_counts=True)[1].min()) >= 2:
        return linear_probe(subset, test, epochs=epochs, seed=seed).test_accuracy
    # One label per class leaves nothing to validate on: fit once with the given decay.
    probe = fit_linear(
        subset.features, subset.labels, num_classes, 1.0, wd, epochs, torch.device("cpu")
    )
    return probe.accuracy(test.features, test.labels)
