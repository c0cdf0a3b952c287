"""Class rebalancing of the colorization loss: rare colours weigh more, lambda = 1 is plain."""

from __future__ import annotations

import torch

from selfsup.losses.colorization import RebalancedColorLoss

BINS = torch.tensor([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0], [60.0, 60.0]])


def test_uniform_prior_or_no_rebalancing_weigh_all_bins_alike() -> None:
    torch.testing.assert_close(RebalancedColorLoss(BINS).class_weights(), torch.ones(4))
    loss = RebalancedColorLoss(BINS, rebalance=1.0)
    loss.prior.copy_(torch.tensor([0.97, 0.01, 0.01, 0.01]))
    torch.testing.assert_close(loss.class_weights(), torch.ones(4))


def test_rare_bins_weigh_more_and_the_prior_follows_the_targets() -> None:
    loss = RebalancedColorLoss(BINS, rebalance=0.5, prior_momentum=0.0)
    ab = torch.zeros(1, 2, 4, 4)  # every pixel grey: bin 0
    ab[0, :, 0, 0] = torch.tensor([60.0, 60.0])  # one pixel in bin 3
    logits = torch.zeros(1, 4, 4, 4, requires_grad=True)
    value, accuracy = loss(logits, ab)
    assert torch.isfinite(value) and 0.0 <= float(accuracy) <= 1.0
    torch.testing.assert_close(loss.prior, torch.tensor([15 / 16, 0.0, 0.0, 1 / 16]))
    w = loss.class_weights()
    assert w[3] > w[0] and torch.all(w > 0)
    smoothed = loss.smoothing @ loss.prior
    torch.testing.assert_close((smoothed * w).sum(), torch.tensor(1.0))
