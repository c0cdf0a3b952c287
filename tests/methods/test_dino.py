"""DINO: teacher gets no gradient, last layer frozen early, smoke runs, collapse visible."""

from __future__ import annotations

import math

import pytest
import torch

from method_helpers import random_batch, train_steps
from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.losses.dino import collapse_kind
from selfsup.methods.distillation.dino import DINO

HEAD = {"out_dim": 16, "hidden_dim": 32, "bottleneck_dim": 16}


def _dino(backbone: str = "resnet_tiny", **kwargs: object) -> DINO:
    torch.manual_seed(0)
    bb_args = {"img_size": 16, "patch_size": 4} if backbone.startswith("vit") else {}
    aug = create_augment("multicrop", global_size=16, local_size=8, num_local=2)
    bb = create_backbone(backbone, **bb_args)
    if backbone.startswith("vit"):
        bb.model.blocks = bb.model.blocks[:2]  # two blocks keep the test fast
    return DINO(bb, aug, **{**HEAD, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("backbone", ["resnet_tiny", "vit_tiny"])
def test_five_steps_move_student_and_teacher(backbone: str) -> None:
    method = _dino(backbone, freeze_last_layer_steps=2, teacher_temp_warmup_steps=4)
    before = {k: v.clone() for k, v in method.state_dict().items()}
    out = train_steps(method, random_batch(16), torch.optim.AdamW(method.parameters(), lr=1e-3))
    after = method.state_dict()
    for name in ("backbone.", "head.last_layer.", "teacher_backbone.", "teacher_head."):
        assert any(not torch.equal(after[k], before[k]) for k in after if k.startswith(name))
    assert all(p.grad is None for p in method.teacher_backbone.parameters())
    assert float(out["teacher_temp"]) == pytest.approx(0.04 + 0.03 * 4 / 4)
    assert method.ema.count() == 5 and method.ema.momentum > 0.996


def test_teacher_follows_student_with_cosine_momentum() -> None:
    method = _dino(momentum_base=0.9)
    with torch.no_grad():
        for p in [*method.backbone.parameters(), *method.head.parameters()]:
            p.add_(1.0)
    pairs = [(method.backbone, method.teacher_backbone), (method.head, method.teacher_head)]
    old = [[p.detach().clone() for p in t.parameters()] for _, t in pairs]
    method.on_step_end(3, 10)
    tau = 1 - 0.1 * (math.cos(math.pi * 0.3) + 1) / 2
    assert method.ema.momentum == pytest.approx(tau) and method.ema.count() == 3
    for (student, teacher), before in zip(pairs, old, strict=True):
        params = zip(teacher.parameters(), before, student.parameters(), strict=True)
        for t, t0, s in params:
            torch.testing.assert_close(t, tau * t0 + (1 - tau) * s)


def test_last_layer_has_no_grad_while_frozen_and_teacher_none_ever() -> None:
    method = _dino(freeze_last_layer_steps=1)
    v = method.head.last_layer.parametrizations.weight.original1
    method.training_step(random_batch(16))["loss"].backward()
    assert v.grad is None and method.head.mlp.layers[0].weight.grad is not None
    assert all(p.grad is None for p in method.teacher_head.parameters())
    method.on_step_end(1, 10)
    method.training_step(random_batch(16))["loss"].backward()
    assert v.grad is not None


def test_teacher_sees_only_global_views_and_center_is_their_mean() -> None:
    method = _dino(center_momentum=0.0)  # centre becomes exactly this batch's mean
    batch = random_batch(16)
    gen = torch.Generator().manual_seed(3)
    method.training_step(batch, generator=torch.Generator().manual_seed(3))
    views = method.views(batch, gen)
    with torch.no_grad():
        t = method.teacher_head(method.teacher_backbone(torch.cat(views[:2])))
    torch.testing.assert_close(method.centering.center, t.mean(dim=0), atol=1e-5, rtol=1e-4)


def _structured_run(centering: str, temp: float, steps: int = 14) -> str:
    """Kind of collapse after a short run on 16 distinct blocky images (no colour jitter)."""
    torch.manual_seed(0)
    aug = create_augment(
        "multicrop", global_size=16, num_local=0, jitter_p=0.0, gray_p=0.0, global_scale=(0.6, 1.0)
    )
    method = DINO(
        create_backbone("resnet_tiny"),
        aug,
        **HEAD,  # type: ignore[arg-type]
        centering=centering,  # type: ignore[arg-type]
        teacher_temp_start=temp,
        teacher_temp=temp,
        teacher_temp_warmup_steps=0,
        freeze_last_layer_steps=0,
        momentum_base=0.9,
        momentum_final=0.9,
    )
    gen = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (16, 3, 4, 4), generator=gen, dtype=torch.uint8)
    batch = {"input": pixels.repeat_interleave(4, 2).repeat_interleave(4, 3)}
    opt = torch.optim.AdamW([p for p in method.parameters() if p.requires_grad], lr=1e-3)
    for step in range(steps):
        out = method.training_step(batch, generator=gen)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        method.on_step_end(step + 1, steps)
    if centering == "none":  # one-prototype collapse: both entropies near 0
        assert float(out["teacher_mean_entropy"]) < 0.1 * math.log(16)
    return collapse_kind(out, 16)


def test_centering_and_sharpening_prevent_collapse() -> None:
    assert _structured_run("ema", 0.04) == "none"
    assert _structured_run("none", 0.04) == "one-prototype"  # no centring: one prototype wins
    assert _structured_run("ema", 0.1) in ("uniform", "constant")  # no sharpening: flat


def test_state_dict_resume_continues_the_step_schedules() -> None:
    """Temperature warm-up and last-layer freeze read the saved step count, so a model loaded
    from a mid-run state dict repeats the uninterrupted run's losses."""

    def run(method: DINO, steps: range) -> list[float]:
        opt = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.1)
        losses = []
        for step in steps:
            out = method.training_step(batch, generator=torch.Generator().manual_seed(step))
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
            method.on_step_end(step + 1, 6)
            losses.append(float(out["loss"]))
        return losses

    batch = random_batch(16)
    method = _dino(freeze_last_layer_steps=3, teacher_temp_warmup_steps=4)
    run(method, range(2))
    state = {k: v.clone() for k, v in method.state_dict().items()}
    straight = run(method, range(2, 4))
    resumed = _dino(freeze_last_layer_steps=3, teacher_temp_warmup_steps=4)
    resumed.load_state_dict(state)
    assert resumed.ema.count() == 2
    assert run(resumed, range(2, 4)) == straight
