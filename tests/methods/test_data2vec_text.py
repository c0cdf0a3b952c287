"""data2vec for text: targets are the teacher's normalised top-K average at the BERT-chosen
positions, padding stays out of the statistics, and the teacher only moves by EMA."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from selfsup.backbones import create_backbone
from selfsup.data.tokenizers import train_tokenizer
from selfsup.methods import create_method
from selfsup.methods.language.data2vec_text import Data2VecText
from selfsup.nn.token_masking import IGNORE, mask_tokens

TEXT = "a small corpus with enough letters to make a vocabulary of characters."


def build(top_k: int = 2) -> tuple[Data2VecText, torch.Tensor]:
    torch.manual_seed(0)
    tok = train_tokenizer([TEXT])
    backbone = create_backbone(
        "text_encoder_tiny", tokenizer=tok, dim=32, depth=3, heads=2, max_len=16
    )
    method = create_method("data2vec_text", backbone=backbone, top_k=top_k, loss="l2")
    assert isinstance(method, Data2VecText)
    ids = torch.tensor([tok.encode(TEXT)[i : i + 16] for i in range(0, 24, 3)])
    ids[0, 10:] = tok.pad_id  # one padded row
    return method, ids


def manual_targets(method: Data2VecText, ids: torch.Tensor, k: int) -> torch.Tensor:
    layers = method.teacher_backbone.forward_layers(ids)[1:]  # type: ignore[operator]
    valid = (ids != method.text.pad_id).unsqueeze(-1).float()
    normed = []
    for layer in layers[-k:]:
        out = torch.zeros_like(layer)
        for b in range(len(ids)):  # per sample, per channel, over its non-pad tokens only
            rows = layer[b][valid[b, :, 0].bool()]
            mean, var = rows.mean(0), rows.var(0, unbiased=False)
            out[b] = (layer[b] - mean) / torch.sqrt(var + 1e-5) * valid[b]
        normed.append(out)
    return torch.stack(normed).mean(0)


def test_targets_are_the_normalised_top_k_average_without_padding() -> None:
    method, ids = build(top_k=2)
    with torch.no_grad():
        torch.testing.assert_close(method.targets(ids), manual_targets(method, ids, 2))


def test_loss_is_the_regression_at_the_chosen_positions_only() -> None:
    method, ids = build()
    tok = method.text.tokenizer
    gen = torch.Generator().manual_seed(5)
    out = method.training_step({"input": ids, "label": torch.full((len(ids),), -1)}, gen)
    # Replay the same corruption with the same seed and compute the loss by hand.
    corrupted, labels = mask_tokens(
        ids, tok.mask_id, tok.special_ids, tok.vocab_size, 0.15, 0.8, 0.1,
        torch.Generator().manual_seed(5),
    )  # fmt: skip
    chosen = labels != IGNORE
    assert chosen.any() and not chosen[ids == tok.pad_id].any()
    with torch.no_grad():
        pred = method.regression_head(method.backbone.forward_tokens(corrupted))[chosen]
        expected = F.mse_loss(pred, manual_targets(method, ids, 2)[chosen])
    torch.testing.assert_close(out["loss"].detach(), expected)


def test_teacher_takes_no_gradient_and_follows_by_ema() -> None:
    method, ids = build()
    opt = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.5)
    teacher_before = [p.detach().clone() for p in method.teacher_backbone.parameters()]
    out = method.training_step({"input": ids, "label": torch.full((len(ids),), -1)})
    opt.zero_grad()
    out["loss"].backward()
    assert all(p.grad is None for p in method.teacher_backbone.parameters())
    opt.step()
    method.on_step_end(1, 100)  # one step done: momentum 0.999 + 0.0009 / 30000
    m = method.ema.momentum
    pairs = zip(method.teacher_backbone.parameters(), method.backbone.parameters(), strict=True)
    for (t, s), before in zip(pairs, teacher_before, strict=True):
        torch.testing.assert_close(t, m * before + (1 - m) * s.detach())
