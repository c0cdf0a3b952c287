"""SwAV trains with multi-crop views; prototypes stay put while frozen and stay unit-norm."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from selfsup.augment import ImageViews, create_augment
from selfsup.backbones import create_backbone
from selfsup.losses.swav import SwAVLoss
from selfsup.methods import create_method
from selfsup.methods.contrastive.swav import SwAV  # importing registers "swav"
from selfsup.nn.sinkhorn import sinkhorn


def make(**kwargs: object) -> SwAV:
    torch.manual_seed(0)
    defaults: dict[str, object] = {"num_prototypes": 20, "proj_hidden_dim": 32, "proj_out_dim": 16}
    method = create_method(
        "swav",
        backbone=create_backbone("resnet_tiny"),
        augment=create_augment("multicrop", global_size=32, local_size=16, num_local=4),
        **{**defaults, **kwargs},
    )
    assert isinstance(method, SwAV)
    return method


def batch() -> dict[str, torch.Tensor]:
    images = torch.randint(
        0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    return {"input": images, "label": torch.full((8,), -1)}


def test_five_multicrop_steps_freeze_then_move_prototypes() -> None:
    method = make(freeze_prototypes_steps=2)
    opt = torch.optim.SGD(method.parameters(), lr=0.1, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    backbone0 = [p.detach().clone() for p in method.backbone.parameters()]
    history = [method.prototypes.weight.detach().clone()]
    for step in range(5):
        out = method.training_step(batch(), generator=gen)
        assert torch.isfinite(out["loss"]), step
        norms = method.prototypes.weight.norm(dim=1)
        torch.testing.assert_close(norms, torch.ones_like(norms))
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        method.on_step_end(step + 1, 5)
        history.append(method.prototypes.weight.detach().clone())
    assert out["embedding"].shape == (8, method.backbone.feature_dim)
    assert not out["embedding"].requires_grad
    # Frozen: only renormalisation rounding; step 3 is the first one that moves them.
    torch.testing.assert_close(history[2], history[0], rtol=0, atol=1e-6)
    assert float((history[3] - history[2]).abs().max()) > 1e-4
    moved = [
        not torch.equal(a, p) for a, p in zip(backbone0, method.backbone.parameters(), strict=True)
    ]
    assert any(moved)


def test_loss_equals_swapped_prediction_on_independent_features() -> None:
    method = make(freeze_prototypes_steps=0)
    gen = torch.Generator().manual_seed(3)
    out = method.training_step(batch(), generator=gen)
    # Recompute independently from the same views (same seed): one backbone pass per size
    # (2 x 32 px, then 4 x 16 px), since BatchNorm statistics depend on that grouping.
    assert method.augment is not None
    views = method.augment(batch()["input"], generator=torch.Generator().manual_seed(3))
    h = torch.cat(
        [
            method.backbone.forward_features(torch.cat(views[:2])),
            method.backbone.forward_features(torch.cat(views[2:])),
        ]
    )
    z = F.normalize(method.projector(h), dim=1)
    scores = list((z @ F.normalize(method.prototypes.weight, dim=1).T).split(8))
    codes = [sinkhorn(s.detach(), 0.05, 3) for s in scores[:2]]
    expected = SwAVLoss(0.1)(scores, codes)
    torch.testing.assert_close(out["loss"], expected, rtol=1e-4, atol=1e-5)


def test_two_view_augment_and_queue() -> None:
    torch.manual_seed(0)
    method = create_method(
        "swav",
        backbone=create_backbone("resnet_tiny"),
        augment=create_augment("simclr", size=16),
        num_prototypes=10,
        proj_hidden_dim=32,
        proj_out_dim=16,
        queue_size=16,
        queue_start_steps=1,
    )
    assert isinstance(method, SwAV)
    gen = torch.Generator().manual_seed(0)
    lengths = []
    for step in range(4):
        out = method.training_step(batch(), generator=gen)
        assert torch.isfinite(out["loss"])
        out["loss"].backward()
        method.on_step_end(step + 1, 4)
        lengths.append([len(method._queue(i)) for i in range(2)])
    assert lengths == [[0, 0], [8, 8], [16, 16], [16, 16]]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_prototypes"):
        make(num_prototypes=0)
    with pytest.raises(ValueError, match="epsilon"):
        make(epsilon=0.0)
    one_view = create_augment("multicrop", num_local=0)
    assert isinstance(one_view, ImageViews)
    one_view.specs = one_view.specs[:1]
    method = create_method("swav", backbone=create_backbone("resnet_tiny"), augment=one_view)
    with pytest.raises(ValueError, match="at least 2 views"):
        method.training_step(batch())


def test_full_queue_joins_sinkhorn_as_extra_rows() -> None:
    method = make(queue_size=6)
    gen = torch.Generator().manual_seed(5)
    scores = torch.rand(4, 20, generator=gen)
    torch.testing.assert_close(method._codes(scores, 0), sinkhorn(scores, 0.05, 3))  # empty
    queued = F.normalize(torch.randn(6, 16, generator=gen), dim=1)
    method._queue(0).push(queued)
    extra = queued @ method.prototypes.weight.T
    expected = sinkhorn(torch.cat([scores, extra]), 0.05, 3)[:4]
    torch.testing.assert_close(method._codes(scores, 0), expected)
    assert not torch.allclose(expected, sinkhorn(scores, 0.05, 3))
