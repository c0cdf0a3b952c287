"""``preprocess`` applies exactly the evaluation view of the run: images as ImageViews'
``eval_view``, text as the evaluation sets' ``[CLS] tokens [SEP]`` rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from selfsup.augment import create_augment
from selfsup.data.text_datasets import TokenizedSentences
from selfsup.data.tokenizers import train_tokenizer
from selfsup.export.preprocess import image_eval_settings, preprocess_images, tokenize


def _images(b: int, c: int, h: int, w: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(h * w + c)
    return torch.randint(0, 256, (b, c, h, w), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize(("c", "h", "w"), [(3, 16, 16), (3, 20, 28), (1, 12, 9), (3, 40, 40)])
def test_images_get_the_method_eval_view(c: int, h: int, w: int) -> None:
    views = create_augment("simclr", size=16)
    s = image_eval_settings(views)
    x = _images(2, c, h, w)
    got = preprocess_images(x, s["size"], s["mean"], s["std"], channels=3)
    assert torch.allclose(got, views.eval_view(x), atol=1e-6)


def test_float_images_in_unit_range_equal_their_uint8_source() -> None:
    s = image_eval_settings(create_augment("simclr", size=16))
    x = _images(2, 3, 24, 20)
    as_uint8 = preprocess_images(x, s["size"], s["mean"], s["std"], 3)
    as_float = preprocess_images(x.float() / 255, s["size"], s["mean"], s["std"], 3)
    assert torch.allclose(as_uint8, as_float, atol=1e-5)


def test_pil_images_and_lists_of_sizes_are_accepted() -> None:
    s = image_eval_settings(create_augment("simclr", size=16))
    a, b = _images(1, 3, 16, 16)[0], _images(1, 3, 30, 22)[0]
    pil = Image.fromarray(np.ascontiguousarray(a.permute(1, 2, 0).numpy()))
    out = preprocess_images([pil, b], s["size"], s["mean"], s["std"], 3)
    assert out.shape == (2, 3, 16, 16)
    single = preprocess_images(a, s["size"], s["mean"], s["std"], 3)
    assert torch.allclose(out[0], single[0])


def test_wrong_images_get_one_line() -> None:
    with pytest.raises(ValueError, match="expected images"):
        preprocess_images(torch.zeros(2, 4, 8, 8), 8, None, None, 3)
    with pytest.raises(ValueError, match="tensors or PIL"):
        preprocess_images("cat.jpg", 8, None, None, 3)


def test_text_rows_are_the_evaluation_rows_without_trailing_padding() -> None:
    tok = train_tokenizer(["a tiny corpus of words"], "char")
    texts = ["a tiny", "words of a corpus that runs past max_len", "w"]
    ids = tokenize(texts, tok, max_len=12)
    rows = TokenizedSentences(texts, [0, 0, 0], tok, max_len=12).ids
    assert ids.dtype == torch.int64 and ids.shape == (3, 12)  # the longest row is cut to 12
    assert torch.equal(ids, rows[:, : ids.shape[1]])
    assert torch.equal(tokenize("w", tok, 12), rows[2:, :3])  # one string: one row, 3 ids
    with pytest.raises(ValueError, match="string"):
        tokenize([1, 2], tok, 12)  # type: ignore[list-item]
