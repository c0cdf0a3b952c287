"""Linear probe: separable data is solved, random labels stay at chance, choice uses validation."""

from __future__ import annotations

import pytest
import torch

from selfsup.eval.features import Features
from selfsup.eval.linear import linear_probe, stratified_split


def clusters(seed, per_class, classes=3, d=8, spread=6.0):
    g = torch.Generator().manual_seed(seed)
    centers = spread * torch.randn(classes, d, generator=torch.Generator().manual_seed(99))
    labels = torch.arange(classes).repeat_interleave(per_class)
    # Very different feature scales: standardisation must make this irrelevant.
    scale = torch.logspace(-3, 3, d)
    feats = (centers[labels] + torch.randn(len(labels), d, generator=g)) * scale
    return Features(feats, labels)


def test_separable_clusters_reach_full_test_accuracy():
    result = linear_probe(clusters(0, 50), clusters(1, 20), epochs=30)
    assert result.test_accuracy == 1.0
    assert result.val_accuracy == 1.0


def test_random_labels_stay_near_chance():
    g = torch.Generator().manual_seed(0)
    train = Features(torch.randn(400, 16, generator=g), torch.randint(0, 4, (400,), generator=g))
    test = Features(torch.randn(400, 16, generator=g), torch.randint(0, 4, (400,), generator=g))
    result = linear_probe(train, test, epochs=50)
    assert abs(result.test_accuracy - 0.25) < 0.08


def test_choice_is_argmax_of_validation_and_ignores_test():
    train = clusters(2, 40, classes=4, d=6, spread=1.0)  # overlapping: accuracies differ
    test = clusters(3, 30, classes=4, d=6, spread=1.0)
    lrs, wds = (0.5, 1.0), (10.0, 1e-1, 1e-4)
    result = linear_probe(train, test, lrs=lrs, weight_decays=wds, epochs=30, seed=1)
    assert set(result.sweep) == {(lr, wd) for lr in lrs for wd in wds}
    best = max(result.sweep.values())
    first_best = next(pair for pair, acc in result.sweep.items() if acc == best)
    assert (result.best_lr, result.best_wd) == first_best
    assert result.val_accuracy == best
    assert len(set(result.sweep.values())) > 1  # the sweep actually discriminates

    # Different test labels change the test score but not the sweep or the choice.
    shuffled = Features(test.features, test.labels.roll(7))
    other = linear_probe(train, shuffled, lrs=lrs, weight_decays=wds, epochs=30, seed=1)
    assert other.sweep == result.sweep
    assert (other.best_lr, other.best_wd) == (result.best_lr, result.best_wd)
    assert other.test_accuracy != result.test_accuracy


def test_deterministic_given_seed():
    train, test = clusters(4, 30, spread=1.0), clusters(5, 20, spread=1.0)
    threads = torch.get_num_threads()
    a = linear_probe(train, test, weight_decays=(1e-2, 1e-4), epochs=15, seed=3)
    b = linear_probe(train, test, weight_decays=(1e-2, 1e-4), epochs=15, seed=3)
    assert a == b
    assert torch.get_num_threads() == threads  # small-problem threading is scoped to the fit


def test_stratified_split_keeps_class_proportions():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 1 + [3] * 2)
    fit, val = stratified_split(labels, 0.2, seed=0)
    assert sorted(fit.tolist() + val.tolist()) == list(range(len(labels)))
    counts = torch.bincount(labels[val], minlength=4).tolist()
    assert counts == [10, 6, 0, 1]
    other_fit, _ = stratified_split(labels, 0.2, seed=1)
    assert not torch.equal(fit, other_fit)


def test_unlabelled_items_are_rejected():
    train, test = clusters(6, 10), clusters(7, 5)
    train.labels[0] = -1
    with pytest.raises(ValueError, match="label < 0"):
        linear_probe(train, test)


def test_bad_sweep_values_are_rejected():
    train, test = clusters(6, 10), clusters(7, 5)
    with pytest.raises(ValueError, match="val_fraction"):
        linear_probe(train, test, val_fraction=0.0)
    with pytest.raises(ValueError, match="weight_decays"):
        linear_probe(train, test, weight_decays=(-1.0,))
