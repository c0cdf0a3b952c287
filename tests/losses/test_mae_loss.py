"""MAE loss: per-patch reference, visible patches ignored, pixel normalisation."""

from __future__ import annotations

import pytest
import torch

from selfsup.losses.mae import MAELoss


def reference(pred: torch.Tensor, patches: torch.Tensor, mask: torch.Tensor, norm: bool) -> float:
    """Loop over masked patches; normalise each target by hand."""
    total, count = 0.0, 0
    for b in range(pred.shape[0]):
        for i in range(pred.shape[1]):
            if not mask[b, i]:
                continue
            t = patches[b, i].double()
            if norm:
                t = (t - t.mean()) / (t.var(unbiased=False) + 1e-6).sqrt()
            total += float(((pred[b, i].double() - t) ** 2).mean())
            count += 1
    return total / count


@pytest.mark.parametrize("norm_pix", [True, False])
def test_matches_per_patch_reference(norm_pix: bool) -> None:
    g = torch.Generator().manual_seed(0)
    pred, patches = torch.randn(3, 16, 12, generator=g), torch.randn(3, 16, 12, generator=g)
    mask = torch.rand(3, 16, generator=g) < 0.6
    loss = MAELoss(norm_pix=norm_pix)(pred, patches, mask)
    assert float(loss) == pytest.approx(reference(pred, patches, mask, norm_pix), rel=1e-5)


def test_visible_patches_do_not_change_the_loss() -> None:
    g = torch.Generator().manual_seed(1)
    pred, patches = torch.randn(2, 16, 12, generator=g), torch.randn(2, 16, 12, generator=g)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[:, ::4] = True
    loss = MAELoss()(pred, patches, mask)
    changed = pred.clone()
    changed[~mask] = 100.0 * torch.randn(int((~mask).sum()), 12, generator=g)
    assert torch.equal(MAELoss()(changed, patches, mask), loss)
    changed[0, 0] += 1.0  # a masked patch does change it
    assert not torch.equal(MAELoss()(changed, patches, mask), loss)


def test_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="mask must be bool"):
        MAELoss()(torch.zeros(1, 4, 3), torch.zeros(1, 4, 3), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="pred and patches"):
        MAELoss()(torch.zeros(1, 4, 3), torch.zeros(1, 5, 3), torch.zeros(1, 4, dtype=torch.bool))


@pytest.mark.parametrize("norm_pix", [True, False])
def test_to_pixels_inverts_the_target(norm_pix: bool) -> None:
    patches = torch.randn(2, 5, 12) * 3 + 1
    loss = MAELoss(norm_pix=norm_pix)
    back = loss.to_pixels(loss.target(patches), patches)
    torch.testing.assert_close(back, patches, atol=1e-4, rtol=1e-4)
