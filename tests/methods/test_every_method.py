"""Every registered method trains for a few steps on a tiny CPU batch; momentum teachers (named
in a method's ``teacher_of``) move, stay frozen and differ from their students."""

from __future__ import annotations

import pytest
import torch

from method_helpers import random_batch, train_steps
from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.methods import create_method, list_methods
from selfsup.methods.registry import METHODS

SMALL_BACKBONE = {False: ("resnet_tiny", {}), True: ("vit_tiny", {"img_size": 16, "patch_size": 4})}


@pytest.mark.parametrize("name", list_methods())
def test_method_trains_five_steps(name: str) -> None:
    torch.manual_seed(0)
    needs_tokens = getattr(METHODS.get(name), "requires_tokens", False)
    backbone_name, kwargs = SMALL_BACKBONE[needs_tokens]
    method = create_method(
        name,
        backbone=create_backbone(backbone_name, **kwargs),
        augment=create_augment("simclr", size=16),
    )
    before = {k: v.detach().clone() for k, v in method.state_dict().items()}
    opt = torch.optim.SGD(method.parameters(), lr=0.05, momentum=0.9)
    out = train_steps(method, random_batch(), opt)
    changed = [
        k
        for k, v in method.state_dict().items()
        if v.is_floating_point() and not torch.equal(v, before[k])
    ]
    assert any(k.startswith("backbone.") for k in changed)
    if "embedding" in out:
        assert out["embedding"].shape[0] == 8 and not out["embedding"].requires_grad
    teacher_of: dict[str, str] = getattr(method, "teacher_of", {})
    for teacher_name, student_name in teacher_of.items():
        teacher, student = getattr(method, teacher_name), getattr(method, student_name)
        assert all(not p.requires_grad and p.grad is None for p in teacher.parameters())
        assert any(k.startswith(f"{teacher_name}.") for k in changed), teacher_name
        pairs = zip(teacher.parameters(), student.parameters(), strict=True)
        assert any(not torch.equal(t, s) for t, s in pairs), teacher_name
