"""iBOT patch loss counts masked positions only."""

from __future__ import annotations

import pytest
import torch

from selfsup.losses.ibot import IBOTPatchLoss


def test_ibot_equals_per_image_masked_mean() -> None:
    torch.manual_seed(0)
    s, t = torch.randn(3, 4, 5), torch.softmax(torch.randn(3, 4, 5), dim=-1)
    mask = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=torch.bool)
    per_image = []
    for b in range(3):
        ces = [
            -(t[b, n] * torch.log_softmax(s[b, n] / 0.1, dim=-1)).sum()
            for n in range(4)
            if mask[b, n]
        ]
        per_image.append(torch.stack(ces).mean() if ces else torch.tensor(0.0))
    torch.testing.assert_close(IBOTPatchLoss(0.1)(s, t, mask), torch.stack(per_image).mean())


def test_unmasked_positions_do_not_matter() -> None:
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, 5), torch.softmax(torch.randn(2, 4, 5), dim=-1)
    mask = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 0]], dtype=torch.bool)
    s2 = torch.where(mask.unsqueeze(-1), s, torch.randn(2, 4, 5) * 10)
    loss = IBOTPatchLoss()
    torch.testing.assert_close(loss(s, t, mask), loss(s2, t, mask))
    assert not torch.allclose(loss(s, t, mask), loss(s, t, ~mask))


def test_bad_mask() -> None:
    with pytest.raises(ValueError, match="mask"):
        IBOTPatchLoss()(torch.randn(2, 4, 5), torch.rand(2, 4, 5), torch.ones(2, 4))
