"""Text transformers: causality, padding invariance, pooling, and the tokenizer in state."""

from __future__ import annotations

import pytest
import torch

import selfsup.backbones.text  # noqa: F401  (registers text backbones)
from selfsup.backbones.registry import create_backbone
from selfsup.data.tokenizers import train_tokenizer

TOK = train_tokenizer(["abcdefghij klmnop\n"], "char")


def ids(b: int, t: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(len(TOK.special_ids), TOK.vocab_size, (b, t), generator=g)


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_changing_a_later_token_never_changes_earlier_outputs(positions: str) -> None:
    torch.manual_seed(0)
    model = create_backbone("text_decoder_tiny", tokenizer=TOK, positions=positions).eval()
    x = ids(2, 12)
    base = model.forward_tokens(x)
    for t in range(11):
        y = x.clone()
        y[:, t + 1] = (y[:, t + 1] + 1 - 6) % (TOK.vocab_size - 6) + 6
        out = model.forward_tokens(y)
        assert torch.allclose(out[:, : t + 1], base[:, : t + 1], atol=1e-5)
        assert not torch.allclose(out[:, t + 1], base[:, t + 1], atol=1e-5)


def test_encoder_is_bidirectional_and_ignores_padding() -> None:
    torch.manual_seed(0)
    model = create_backbone("text_encoder_tiny", tokenizer=TOK).eval()
    x = ids(1, 6)
    padded = torch.cat([x, torch.full((1, 4), TOK.pad_id)], dim=1)
    short, long = model.forward_tokens(x), model.forward_tokens(padded)
    assert torch.allclose(short, long[:, :6], atol=1e-5)
    # Pooled features: the mean over the real tokens only.
    assert torch.allclose(model.forward_features(padded), short.mean(1), atol=1e-5)
    y = x.clone()
    y[0, 5] = x[0, 5] % (TOK.vocab_size - 6) + 6 if x[0, 5] != TOK.vocab_size - 1 else 6
    assert not torch.allclose(model.forward_tokens(y)[:, 0], short[:, 0], atol=1e-5)


def test_decoder_pools_the_last_real_token() -> None:
    model = create_backbone("text_decoder_tiny", tokenizer=TOK).eval()
    x = ids(2, 5)
    x[1, 3:] = TOK.pad_id
    tokens = model.forward_tokens(x)
    feats = model.forward_features(x)
    assert torch.allclose(feats[0], tokens[0, 4]) and torch.allclose(feats[1], tokens[1, 2])


def test_tokenizer_rides_in_the_state_dict() -> None:
    other = train_tokenizer(["xyz"], "char")
    a = create_backbone("text_encoder_tiny", tokenizer=TOK, dim=32, depth=1, heads=2)
    b = create_backbone("text_encoder_tiny", tokenizer=other, dim=32, depth=1, heads=2)
    state = a.state_dict()
    b.token_embedding = torch.nn.Embedding(TOK.vocab_size, 32)
    b.load_state_dict(state)
    assert b.tokenizer.to_json() == TOK.to_json()
    assert b.feature_dim == 32 and len(b.blocks) == 1


def test_bad_inputs_raise_one_line() -> None:
    model = create_backbone("text_encoder_tiny", tokenizer=TOK, max_len=8)
    with pytest.raises(ValueError, match="max_len"):
        model(ids(1, 9))
    with pytest.raises(ValueError, match="integer ids"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="need a tokenizer"):
        create_backbone("text_encoder_tiny")


@pytest.mark.parametrize("name", ["text_encoder_tiny", "text_decoder_tiny"])
def test_a_trace_of_unpadded_ids_still_masks_padding(name: str) -> None:
    # Tracing records one graph; recorded without padding, it must still hide pad keys later.
    import warnings

    torch.manual_seed(0)
    model = create_backbone(name, tokenizer=TOK, dim=32, depth=1, heads=2).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, (ids(2, 8),), check_trace=False)
    padded = ids(3, 8, seed=1)
    padded[1, 5:] = TOK.pad_id
    with torch.no_grad():
        assert torch.allclose(traced(padded), model(padded), atol=1e-6)
