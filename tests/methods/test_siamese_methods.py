"""BYOL, SimSiam and MoCo: losses against hand-computed references from the same modules,
the target momentum schedule, stop-gradients, and MoCo's queue."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.methods import create_method
from selfsup.methods.contrastive.byol import BYOL
from selfsup.methods.contrastive.moco import MoCo
from selfsup.methods.contrastive.simsiam import SimSiam

SMALL = {"proj_hidden_dim": 32, "proj_out_dim": 16}


def _batch(n: int = 6) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(5)
    images = torch.randint(0, 256, (n, 3, 16, 16), generator=gen, dtype=torch.uint8)
    return {"input": images, "label": torch.full((n,), -1)}


def _views(method: torch.nn.Module, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    return method.augment(batch["input"], generator=torch.Generator().manual_seed(0))  # type: ignore[operator,misc]


def _make(name: str, **kwargs: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_method(
        name,
        backbone=create_backbone("resnet_tiny"),
        augment=create_augment("byol", size=16),
        **kwargs,
    )


def test_byol_loss_is_symmetric_normalised_mse() -> None:
    method = _make("byol", pred_hidden_dim=32, **SMALL)
    assert isinstance(method, BYOL)
    batch = _batch()
    out = method.training_step(batch, generator=torch.Generator().manual_seed(0))
    a, b = _views(method, batch)

    def online(v: torch.Tensor) -> torch.Tensor:
        return F.normalize(method.predictor(method.projector(method.backbone(v))), dim=1)

    def target(v: torch.Tensor) -> torch.Tensor:
        return F.normalize(method.target_projector(method.target_backbone(v)), dim=1)

    with torch.no_grad():
        mse_ab = (online(a) - target(b)).pow(2).sum(1).mean()
        mse_ba = (online(b) - target(a)).pow(2).sum(1).mean()
    torch.testing.assert_close(out["loss"].detach(), mse_ab + mse_ba, atol=1e-5, rtol=1e-5)


def test_byol_target_follows_cosine_momentum() -> None:
    method = _make("byol", pred_hidden_dim=32, momentum_base=0.9, **SMALL)
    assert isinstance(method, BYOL)
    with torch.no_grad():
        for p in method.backbone.parameters():
            p.add_(1.0)
    online = [p.detach().clone() for p in method.backbone.parameters()]
    before = [p.detach().clone() for p in method.target_backbone.parameters()]
    method.on_step_end(3, 10)
    tau = 1 - 0.1 * (math.cos(math.pi * 0.3) + 1) / 2
    assert method.ema.momentum == pytest.approx(tau)
    for t, t0, s in zip(method.target_backbone.parameters(), before, online, strict=True):
        torch.testing.assert_close(t, tau * t0 + (1 - tau) * s)


def test_simsiam_stop_gradient_keeps_targets_out_of_the_graph() -> None:
    method = _make("simsiam", proj_layers=2, pred_hidden_dim=8, **SMALL)
    assert isinstance(method, SimSiam)
    batch = _batch()
    out = method.training_step(batch, generator=torch.Generator().manual_seed(0))
    a, b = _views(method, batch)
    z_a, z_b = method.projector(method.backbone(a)), method.projector(method.backbone(b))
    p_a, p_b = method.predictor(z_a), method.predictor(z_b)
    expected = -0.5 * (
        F.cosine_similarity(p_a, z_b.detach()).mean()
        + F.cosine_similarity(p_b, z_a.detach()).mean()
    )
    torch.testing.assert_close(out["loss"], expected, atol=1e-5, rtol=1e-5)
    # The method's gradients equal the stop-gradient reference's and differ from the ones a
    # loss without the stop-gradient would give.
    grads = []
    for loss in (
        out["loss"],
        expected,
        -0.5 * (F.cosine_similarity(p_a, z_b).mean() + F.cosine_similarity(p_b, z_a).mean()),
    ):
        method.zero_grad()
        loss.backward(retain_graph=True)
        grads.append(torch.cat([p.grad.flatten() for p in method.backbone.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], atol=1e-6, rtol=1e-4)
    assert not torch.allclose(grads[0], grads[2], atol=1e-6, rtol=1e-4)


def test_moco_first_step_uses_batch_then_queue_negatives() -> None:
    method = _make("moco", queue_size=10, temperature=0.5, **SMALL)
    assert isinstance(method, MoCo)
    batch = _batch(6)
    gen = torch.Generator().manual_seed(0)
    out1 = method.training_step(batch, generator=gen)
    assert len(method.queue) == 6
    a, b = _views(method, batch)
    with torch.no_grad():
        q = F.normalize(method.projector(method.backbone(a)), dim=1)
        k = F.normalize(method.key_projector(method.key_backbone(b)), dim=1)
    # First step: the queue was empty, so the batch's other keys were the negatives.
    logits = q @ k.T / 0.5
    torch.testing.assert_close(out1["loss"].detach(), F.cross_entropy(logits, torch.arange(6)))
    torch.testing.assert_close(method.queue.features(), k, atol=1e-6, rtol=1e-6)

    queued = method.queue.features().clone()
    out2 = method.training_step(batch, generator=torch.Generator().manual_seed(0))
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queued.T], dim=1) / 0.5
    expected = F.cross_entropy(logits, torch.zeros(6, dtype=torch.long))
    torch.testing.assert_close(out2["loss"].detach(), expected, atol=1e-5, rtol=1e-5)
    assert len(method.queue) == 10  # 12 keys pushed into 10 rows
    out2["loss"].backward()  # the push after the loss must not break the backward


def test_bad_momentum_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="momentum_base"):
        _make("byol", momentum_base=1.2, **SMALL)
    with pytest.raises(ValueError, match="momentum"):
        _make("moco", momentum=-0.1, **SMALL)
