"""data2vec: targets are the manual top-K average of teacher blocks; loss at masked tokens."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from method_helpers import random_batch, train_steps
from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.backbones.vit import ViTBackbone
from selfsup.methods.masked.data2vec import Data2Vec
from selfsup.schedules import linear_momentum


def _method(**kwargs: object) -> Data2Vec:
    torch.manual_seed(0)
    bb = create_backbone("vit_tiny", img_size=16, patch_size=4)
    assert isinstance(bb, ViTBackbone)
    bb.model.blocks = bb.model.blocks[:3]  # three blocks keep the test fast
    return Data2Vec(bb, create_augment("simclr", size=16), **{"top_k": 2, **kwargs})  # type: ignore[arg-type]


def test_targets_equal_manual_top_k_instance_norm_average() -> None:
    method = _method()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        h = method.teacher_backbone._embed(x, None)
        outs = []
        for block in method.teacher_backbone.model.blocks:
            h = block(h)
            outs.append(h[:, 1:])
    manual = []
    for t in outs[-2:]:  # normalise each channel over the tokens of each image
        mu, var = t.mean(dim=1, keepdim=True), t.var(dim=1, unbiased=False, keepdim=True)
        manual.append((t - mu) / torch.sqrt(var + 1e-5))
    torch.testing.assert_close(method.targets(x), (manual[0] + manual[1]) / 2)


def test_loss_counts_masked_positions_only() -> None:
    method = _method()
    batch = random_batch(16, n=4)
    out = method.training_step(batch, generator=torch.Generator().manual_seed(2))
    gen = torch.Generator().manual_seed(2)
    x = torch.cat(method.views(batch, gen))
    mask = method.mask(x, gen)
    with torch.no_grad():
        tokens = method.backbone.forward_tokens(x, token_mask=mask)
        pred = method.regression_head(tokens[:, 1:])
        err = (pred - method.targets(x)).square().mean(dim=-1)  # [B, N]
    assert mask.any() and not mask.all()
    torch.testing.assert_close(out["loss"].detach(), err[mask].mean())
    assert not torch.allclose(err[mask].mean(), err[~mask].mean())
    smooth = _method(loss="smooth_l1", loss_beta=2.0)
    assert float(smooth.training_step(batch)["loss"].detach()) > 0
    assert F.smooth_l1_loss(torch.zeros(1), torch.ones(1), beta=2.0) == 0.25


def test_five_steps_and_teacher_decay_schedule() -> None:
    method = _method(momentum_base=0.5, momentum_final=0.9, momentum_anneal_steps=4)
    before = {k: v.clone() for k, v in method.state_dict().items()}
    train_steps(method, random_batch(16), torch.optim.AdamW(method.parameters(), lr=1e-3))
    after = method.state_dict()
    for name in ("backbone.", "regression_head.", "teacher_backbone."):
        assert any(not torch.equal(after[k], before[k]) for k in after if k.startswith(name))
    assert method.ema.momentum == pytest.approx(0.9)
    assert [linear_momentum(s, 4, 0.5, 0.9) for s in (0, 2, 9)] == pytest.approx([0.5, 0.7, 0.9])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="top_k"):
        _method(top_k=9)
    with pytest.raises(ValueError, match="ViT"):
        Data2Vec(create_backbone("resnet_tiny"), create_augment("simclr", size=16))
