"""CLIP learns a toy paired task (digit images <-> digit words) far above chance in a few
dozen CPU steps; a frozen tower stays fixed while its projection trains."""

from __future__ import annotations

import pytest
import torch

from selfsup.backbones import create_backbone
from selfsup.data.bundled import load_digits
from selfsup.data.text_datasets import sentence_row
from selfsup.data.tokenizers import train_tokenizer
from selfsup.eval.crossmodal import cross_modal_retrieval, zero_shot_accuracy
from selfsup.methods import create_method
from selfsup.methods.crossmodal.clip import CLIP
from tiny_methods import build_tiny

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def digit_clip() -> tuple[CLIP, torch.Tensor]:
    """A CLIP of a tiny ResNet and a one-block text encoder; the word rows of the 10 digits."""
    tok = train_tokenizer(WORDS, "char")
    rows = torch.stack([sentence_row(tok, tok.encode(w), 8) for w in WORDS])
    image = create_backbone("resnet_tiny")
    text = create_backbone("text_encoder_tiny", tokenizer=tok, dim=32, depth=1, heads=2, max_len=8)
    method = create_method("clip", backbone=image, tower_b=text, embed_dim=32)
    assert isinstance(method, CLIP)
    return method, rows


def test_clip_learns_digit_words_far_above_chance() -> None:
    torch.manual_seed(0)
    method, rows = digit_clip()
    train, test = load_digits("train"), load_digits("test")
    opt = torch.optim.AdamW(method.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    for step in range(80):
        idx = torch.randperm(len(train), generator=gen)[:32]
        labels = train.labels[idx]
        batch = {"input": train.images[idx], "label": labels, "b.input": rows[labels]}
        out = method.training_step(batch)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        method.on_step_end(step + 1, 80)
    method.eval()
    batch = {"input": test.images, "label": test.labels, "b.input": rows[test.labels]}
    images, _ = method.embed_pair(batch)
    words = method.embed_b(rows)
    accuracy = zero_shot_accuracy(images, words, test.labels, ks=(1,))[1]
    assert accuracy > 0.6, accuracy  # chance: 0.1
    both = cross_modal_retrieval(images, words, test.labels, torch.arange(10))
    assert both.b_to_a.recall[1] > 0.6 and both.a_to_b.median_rank == 1.0


def test_a_frozen_tower_keeps_its_weights_and_dropout_off() -> None:
    method, batch = build_tiny("clip")
    frozen = CLIP(method.backbone, tower_b=method.tower_b, freeze_b=True)
    state = frozen.tower_b.state_dict().items()
    before = {k: v.clone() for k, v in state if isinstance(v, torch.Tensor)}
    proj = frozen.proj_b.weight.clone()
    opt = torch.optim.SGD([p for p in frozen.parameters() if p.requires_grad], lr=0.5)
    frozen.train()
    assert not frozen.tower_b.training and frozen.backbone.training
    for _ in range(2):
        opt.zero_grad()
        frozen.training_step(batch)["loss"].backward()
        opt.step()
    after = frozen.tower_b.state_dict()
    assert before and all(torch.equal(v, after[k]) for k, v in before.items())
    assert not torch.equal(proj, frozen.proj_b.weight)  # its projection still learns


def test_validation_loss_and_a_batch_without_side_b() -> None:
    method, batch = build_tiny("clip")
    loss = method.validation_loss(batch)
    assert loss is not None and torch.isfinite(loss)
    with pytest.raises(ValueError, match="not a pair batch"):
        method.training_step({"input": batch["input"], "label": batch["label"]})
