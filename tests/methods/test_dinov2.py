"""DINOv2-style: masks, iBOT only at masked tokens, KoLeo term, shared/separate heads."""

from __future__ import annotations

import pytest
import torch

from method_helpers import random_batch, train_steps
from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.backbones.vit import ViTBackbone
from selfsup.methods.distillation.dinov2 import DINOv2

SIZES = {"out_dim": 16, "patch_out_dim": 16, "hidden_dim": 32, "bottleneck_dim": 16}


def _vit() -> ViTBackbone:
    bb = create_backbone("vit_tiny", img_size=16, patch_size=4)
    assert isinstance(bb, ViTBackbone)
    bb.model.blocks = bb.model.blocks[:2]  # two blocks keep the test fast
    return bb


def _method(**kwargs: object) -> DINOv2:
    torch.manual_seed(0)
    aug = create_augment("multicrop", global_size=16, local_size=8, num_local=2)
    return DINOv2(_vit(), aug, **{**SIZES, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("separate", [True, False])
def test_five_steps_train_every_part(separate: bool) -> None:
    method = _method(separate_heads=separate, freeze_last_layer_steps=0)
    before = {k: v.clone() for k, v in method.state_dict().items()}
    out = train_steps(method, random_batch(16), torch.optim.AdamW(method.parameters(), lr=1e-3))
    after = method.state_dict()
    for name in ("backbone.", "patch_head.", "teacher_backbone.", "teacher_patch_head."):
        assert any(not torch.equal(after[k], before[k]) for k in after if k.startswith(name))
    assert all(float(out[k]) > 0 for k in ("dino_loss", "ibot_loss"))
    assert (method.patch_head is method.head) is not separate


def test_shared_head_teacher_is_updated_once_per_step() -> None:
    method = _method(separate_heads=False, momentum_base=0.5, momentum_final=0.5)
    assert method.teacher_patch_head is method.teacher_head and len(method.ema.pairs) == 2
    teacher = method.teacher_head.mlp.layers[0].weight
    student = method.head.mlp.layers[0].weight
    with torch.no_grad():
        student.add_(1.0)
    old = teacher.clone()
    method.on_step_end(1, 10)
    torch.testing.assert_close(teacher, 0.5 * old + 0.5 * student)


def test_masks_follow_ratio_range_and_sample_probability() -> None:
    method = _method(mask_ratio=(0.2, 0.5), mask_sample_probability=0.5)
    masks = method.make_masks(8, (4, 4), torch.Generator().manual_seed(0))
    counts = masks.sum(dim=1)
    assert int((counts > 0).sum()) == 4
    assert counts.max() <= round(0.5 * 16) and counts[counts > 0].min() >= round(0.2 * 16) - 1


def test_ibot_term_counts_masked_tokens_only() -> None:
    method = _method(mask_sample_probability=1.0, mask_ratio=(0.3, 0.3), koleo_weight=0.0)
    method.eval()  # no centre updates between the calls
    batch = random_batch(16)
    out = method.training_step(batch, generator=torch.Generator().manual_seed(1))
    assert float(out["ibot_loss"]) > 0
    # With no masked token the patch term is exactly 0: unmasked positions never count.
    method.mask_sample_probability = 0.0
    out0 = method.training_step(batch, generator=torch.Generator().manual_seed(1))
    assert float(out0["ibot_loss"]) == 0.0
    torch.testing.assert_close(out0["loss"].detach(), out0["dino_loss"])


def test_rejects_cnn_backbone() -> None:
    with pytest.raises(ValueError, match="ViT"):
        DINOv2(create_backbone("resnet_tiny"), create_augment("simclr", size=16), **SIZES)  # type: ignore[arg-type]
