"""NNCLR: positives are support-set neighbours, the loss matches a hand computation, the support
set fills with the first view's normalised projections, and training stays finite."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from method_helpers import train_steps
from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.methods.contrastive import nnclr  # noqa: F401  (registers "nnclr")
from selfsup.methods.contrastive.nnclr import NNCLR
from selfsup.methods.registry import create_method

BATCH = {"input": torch.randint(0, 256, (8, 3, 20, 20), dtype=torch.uint8)}


def _method(queue_size: int = 20) -> NNCLR:
    torch.manual_seed(0)
    method = create_method(
        "nnclr",
        backbone=create_backbone("resnet_tiny"),
        augment=create_augment("simclr", size=16),
        queue_size=queue_size,
        proj_hidden_dim=32,
        proj_out_dim=16,
        pred_hidden_dim=32,
    )
    assert isinstance(method, NNCLR)
    return method


def _views(method: NNCLR, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The two views ``training_step`` makes with a generator seeded ``seed``."""
    assert method.augment is not None
    view_a, view_b = method.augment(BATCH["input"], generator=torch.Generator().manual_seed(seed))
    return view_a, view_b


def _reference_loss(method: NNCLR, seed: int, support: torch.Tensor | None) -> torch.Tensor:
    """The paper's loss written out: cross-entropy of NN(z_a) . p_b / tau, both directions."""
    view_a, view_b = _views(method, seed)
    z_a = method.projector(method.backbone.forward_features(view_a))
    z_b = method.projector(method.backbone.forward_features(view_b))
    p_a, p_b = method.predictor(z_a), method.predictor(z_b)

    def nn_of(z: torch.Tensor) -> torch.Tensor:
        if support is None:
            return z
        sims = F.normalize(z, dim=1) @ F.normalize(support, dim=1).T
        return support[sims.argmax(dim=1)]

    def ctr(anchor: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        logits = F.normalize(anchor, dim=1) @ F.normalize(pred, dim=1).T / 0.1
        return F.cross_entropy(logits, torch.arange(anchor.shape[0]))

    return 0.5 * (ctr(nn_of(z_a), p_b) + ctr(nn_of(z_b), p_a))


def test_neighbour_comes_from_the_support_set() -> None:
    method = _method(queue_size=4)
    known = torch.zeros(4, 16)
    known[torch.arange(4), torch.tensor([0, 5, 9, 15])] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    method.support.push(known)
    z = torch.zeros(3, 16, requires_grad=True)
    with torch.no_grad():  # directions close to support rows 2, 0, 3 but not equal to them
        z[0, 9], z[0, 1] = 0.5, 0.2
        z[1, 0], z[1, 15] = 7.0, 1.0
        z[2, 15], z[2, 5] = 1.0, 0.9
    picked = method.neighbours(z)
    assert torch.equal(picked, known[[2, 0, 3]])
    assert not picked.requires_grad


def test_loss_matches_reference_and_support_fills() -> None:
    method = _method(queue_size=20)
    assert len(method.support) == 0
    # Step 1: empty support set -> the projections stand in for their neighbours.
    out = method.training_step(BATCH, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(out["loss"], _reference_loss(method, 1, None))
    assert len(method.support) == 8
    view_a, _ = _views(method, 1)
    with torch.no_grad():
        z_a = method.projector(method.backbone.forward_features(view_a))
    torch.testing.assert_close(method.support.features(), F.normalize(z_a, dim=1))
    # Step 2: neighbours from the support set, which then grows; then it wraps at 20.
    support = method.support.features().clone()
    out = method.training_step(BATCH, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(out["loss"], _reference_loss(method, 2, support))
    assert len(method.support) == 16
    method.training_step(BATCH, generator=torch.Generator().manual_seed(3))
    assert len(method.support) == 20 and int(out["support_size"]) == 16


def test_five_steps_finite_and_learning() -> None:
    method = _method(queue_size=20)
    before = {k: v.clone() for k, v in method.backbone.state_dict().items()}
    opt = torch.optim.SGD(method.parameters(), lr=0.05, momentum=0.9)
    out = train_steps(method, BATCH, opt)
    assert len(method.support) == 20
    assert out["embedding"].shape == (8, method.backbone.feature_dim)
    assert not out["embedding"].requires_grad
    after = method.backbone.state_dict()
    assert any(not torch.equal(after[k], v) for k, v in before.items() if v.is_floating_point())
