"""BEiT and its VQ tokenizer: tokenizer learns, masked-only loss, frozen targets, smoke runs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from method_helpers import random_batch, train_steps
from selfsup.augment import (
    create_augment,
    minimal,  # noqa: F401  (registers "crop_flip")
)
from selfsup.backbones import create_backbone
from selfsup.config.load import load_config
from selfsup.engine.build import build_method
from selfsup.methods.masked.beit import BEiT
from selfsup.methods.masked.vq_tokenizer import VQTokenizer
from selfsup.methods.registry import create_method, loaded_args
from selfsup.nn.vector_quantizer import VectorQuantizer
from selfsup.registry import ConfigError


def tokenizer(num_codes: int = 16) -> VQTokenizer:
    torch.manual_seed(0)
    method = create_method(
        "vq_tokenizer",
        backbone=create_backbone("vit_tiny", img_size=16, patch_size=4, depth=1),
        augment=create_augment("crop_flip", size=16),
        num_codes=num_codes,
        code_dim=8,
        decoder_dim=32,
        decoder_depth=1,
    )
    assert isinstance(method, VQTokenizer)
    return method


def beit(tok: VQTokenizer, mask_ratio: float = 0.4) -> BEiT:
    method = create_method(
        "beit",
        backbone=create_backbone("vit_tiny", img_size=16, patch_size=4, depth=2),
        augment=create_augment("crop_flip", size=16),
        tokenizer_model=tok,
        mask_ratio=mask_ratio,
        min_block_patches=2,
    )
    assert isinstance(method, BEiT)
    return method


def smooth_batch(n: int = 16) -> dict[str, torch.Tensor]:
    """Images with structure (low-frequency colour blobs) so reconstruction can improve."""
    g = torch.Generator().manual_seed(0)
    small = torch.rand(n, 3, 2, 2, generator=g)
    images = F.interpolate(small, size=16, mode="bilinear", align_corners=False)
    return {"input": (images * 255).to(torch.uint8), "label": torch.full((n,), -1)}


def test_tokenizer_reconstruction_error_falls() -> None:
    tok = tokenizer()
    batch = smooth_batch()
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW([p for p in tok.parameters() if p.requires_grad], lr=3e-3)
    errors = []
    for _ in range(30):
        out = tok.training_step(batch, gen)
        errors.append(float(out["recon_mse"]))
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    assert sum(errors[-5:]) / 5 < 0.7 * sum(errors[:5]) / 5
    assert float(out["codes_used"]) > 0.2  # dead-code restarts keep the codebook in use


def test_quantizer_picks_nearest_code_and_passes_gradient_straight_through() -> None:
    vq = VectorQuantizer(5, 3).eval()
    z = torch.randn(2, 4, 3, requires_grad=True)
    quantized, ids, _ = vq(z)
    for b in range(2):  # per-vector reference
        for i in range(4):
            dists = [float(((z[b, i].detach() - c) ** 2).sum()) for c in vq.codebook]
            assert int(ids[b, i]) == dists.index(min(dists))
    torch.testing.assert_close(quantized, vq.codebook[ids])
    quantized.sum().backward()
    assert z.grad is not None
    torch.testing.assert_close(z.grad, torch.ones_like(z))


def test_only_masked_positions_contribute_to_the_loss() -> None:
    method = beit(tokenizer())
    images = torch.randn(2, 3, 16, 16)
    mask = method.mask(2, torch.Generator().manual_seed(0))
    ids = method.targets(images)
    logits = method.predict(method.encode(images, mask))
    loss = method.loss(logits, ids, mask)
    altered = torch.where(mask.unsqueeze(-1), logits, torch.randn_like(logits) * 30)
    assert torch.equal(method.loss(altered, ids, mask), loss)
    # Reference: per masked patch cross-entropy, averaged.
    terms = [
        -torch.log_softmax(logits[b, i], -1)[ids[b, i]]
        for b in range(2)
        for i in range(16)
        if mask[b, i]
    ]
    torch.testing.assert_close(loss, torch.stack(terms).mean())


def test_targets_ignore_the_mask_and_tokenizer_stays_frozen() -> None:
    tok = tokenizer()
    method = beit(tok)
    frozen = {k: v.clone() for k, v in tok.state_dict().items()}
    batch = random_batch(16, 8)
    opt = torch.optim.AdamW([p for p in method.parameters() if p.requires_grad], lr=1e-3)
    out = train_steps(method.train(), batch, opt, steps=5)
    assert not tok.training
    for k, v in tok.state_dict().items():
        assert torch.equal(v, frozen[k]), k
    assert 0.0 <= float(out["token_accuracy"]) <= 1.0
    assert out["embedding"].shape == (8, 192)


@pytest.mark.parametrize("ratio", [0.4, 0.6])
def test_five_step_smoke_lowers_loss(ratio: float) -> None:
    method = beit(tokenizer(), ratio)
    batch = random_batch(16, 8)
    opt = torch.optim.AdamW([p for p in method.parameters() if p.requires_grad], lr=1e-3)
    first = float(method.training_step(batch, torch.Generator().manual_seed(0))["loss"].detach())
    out = train_steps(method, batch, opt, steps=5)
    assert float(out["loss"].detach()) < first


def test_tokenizer_grid_must_match_and_path_is_required() -> None:
    tok = tokenizer()
    other = create_backbone("vit_tiny", img_size=32, patch_size=4, depth=1)
    with pytest.raises(ConfigError, match="patch grid"):
        BEiT(other, create_augment("crop_flip"), tokenizer_model=tok)
    with pytest.raises(ConfigError, match=r"method\.tokenizer"):
        BEiT(other, create_augment("crop_flip"))


BEIT_CFG = [
    "backbone.name=vit_tiny",
    "backbone.img_size=16",
    "backbone.patch_size=4",
    "augment.name=crop_flip",
    "method.name=beit",
]


def test_config_tokenizer_is_a_validated_path_the_engine_loads() -> None:
    with pytest.raises(ConfigError, match="checkpoint not found"):
        build_method(load_config(None, [*BEIT_CFG, "method.tokenizer=/nonexistent/run"]))
    with pytest.raises(ConfigError, match=r"'method\.tokenizer' expects str"):
        build_method(load_config(None, [*BEIT_CFG, "method.tokenizer=3"]))
    with pytest.raises(ConfigError, match=r"unknown key 'method\.tokenizer_model'"):
        build_method(load_config(None, [*BEIT_CFG, "method.tokenizer_model=x"]))
    with pytest.raises(ConfigError, match=r"beit needs method\.tokenizer"):
        build_method(load_config(None, BEIT_CFG))
    assert [a.key for a in loaded_args("beit")] == ["tokenizer"]


def test_a_tokenizer_run_must_hold_a_vq_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    import selfsup.engine.load as load

    tok = tokenizer()
    monkeypatch.setattr(load, "load_method", lambda path: (tok, None))
    method = build_method(load_config(None, [*BEIT_CFG, "method.tokenizer=runs/vq"]))
    assert isinstance(method, BEiT) and method.tokenizer is tok
    monkeypatch.setattr(load, "load_method", lambda path: (beit(tok), None))
    with pytest.raises(ConfigError, match="holds a 'BEiT', not a vq_tokenizer"):
        build_method(load_config(None, [*BEIT_CFG, "method.tokenizer=runs/beit"]))
