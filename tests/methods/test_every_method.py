"""Every registered method trains for a few steps on a tiny CPU batch of its modality; momentum
teachers (the pairs of a method's :class:`EMATeacher`) move, stay frozen and differ from their
students."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from method_helpers import random_batch, train_steps
from selfsup.augment import create_augment
from selfsup.backbones import Backbone, create_backbone
from selfsup.data.tokenizers import train_tokenizer
from selfsup.methods import Batch, Method, create_method, list_methods
from selfsup.methods.registry import METHODS
from selfsup.nn.ema_teacher import EMATeacher

SMALL_BACKBONE = {
    False: ("resnet_tiny", {}),
    True: ("vit_tiny", {"img_size": 16, "patch_size": 4, "depth": 2}),
}
# Methods with a momentum teacher: a refactor must not drop one silently.
TEACHER_METHODS = {"byol", "moco", "moco_v3", "dino", "dinov2", "data2vec", "data2vec_text"}
TEXT = "the quick brown fox jumps over the lazy dog, again and again."
TINY_TEXT = {"dim": 32, "depth": 2, "heads": 2, "max_len": 16}


def small_vit() -> Backbone:
    return create_backbone("vit_tiny", img_size=16, patch_size=4, depth=2)


def method_kwargs(name: str) -> dict[str, Any]:
    """Constructor arguments a method needs beyond backbone and augment (BEiT: a tokenizer)."""
    if name == "beit":
        augment = create_augment("simclr", size=16)
        return {
            "tokenizer_model": create_method("vq_tokenizer", backbone=small_vit(), augment=augment)
        }
    if name == "data2vec":
        return {"top_k": 2}  # the small ViT has 2 blocks
    return {}


def build(name: str) -> tuple[Method, Batch]:
    """The method on a small backbone of its modality, and a batch for it."""
    method_cls = METHODS.get(name)
    if getattr(method_cls, "modality", "image") == "text":
        tok = train_tokenizer([TEXT])
        causal = name == "gpt"
        backbone = create_backbone(
            "text_decoder_tiny" if causal else "text_encoder_tiny", tokenizer=tok, **TINY_TEXT
        )
        ids = torch.tensor([tok.encode(TEXT)[i : i + 16] for i in range(0, 32, 4)])
        return create_method(name, backbone=backbone, augment=None), {
            "input": ids,
            "label": torch.full((len(ids),), -1),
        }
    backbone_name, kwargs = SMALL_BACKBONE[getattr(method_cls, "requires_tokens", False)]
    method = create_method(
        name,
        backbone=create_backbone(backbone_name, **kwargs),
        augment=create_augment("simclr", size=16),
        **method_kwargs(name),
    )
    return method, random_batch()


@pytest.mark.parametrize("name", list_methods())
def test_method_trains_five_steps(name: str) -> None:
    torch.manual_seed(0)
    method, batch = build(name)
    tensors = {k: v for k, v in method.state_dict().items() if isinstance(v, torch.Tensor)}
    before = {k: v.detach().clone() for k, v in tensors.items()}  # (text: + tokenizer state)
    opt = torch.optim.SGD(method.parameters(), lr=0.05, momentum=0.9)
    out = train_steps(method, batch, opt)
    changed = [
        k
        for k, v in method.state_dict().items()
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not torch.equal(v, before[k])
    ]
    assert any(k.startswith("backbone.") for k in changed)
    if "embedding" in out:
        assert out["embedding"].shape[0] == 8 and not out["embedding"].requires_grad
    names = {id(m): n for n, m in method.named_modules()}
    emas = [m for m in method.modules() if isinstance(m, EMATeacher)]
    assert bool(emas) == (name in TEACHER_METHODS)
    for student, teacher in [pair for ema in emas for pair in ema.pairs]:
        teacher_name = names[id(teacher)]
        assert all(not p.requires_grad and p.grad is None for p in teacher.parameters())
        assert any(k.startswith(f"{teacher_name}.") for k in changed), teacher_name
        pairs = zip(teacher.parameters(), student.parameters(), strict=True)
        assert any(not torch.equal(t, s) for t, s in pairs), teacher_name
