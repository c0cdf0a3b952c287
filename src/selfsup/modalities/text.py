"""Text: int64 ``[T]`` token-id items, labelled-TSV evaluation sets, the backbone's tokenizer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch.utils.data import Dataset

from selfsup.backbones.base import Backbone
from selfsup.backbones.text import TextTransformer
from selfsup.data.eval_text import text_dataset_from_spec
from selfsup.data.item_sources import ItemSource
from selfsup.data.text_items import text_item_source
from selfsup.data.tokenizers import TextTokenizer, train_tokenizer
from selfsup.modalities.base import Modality
from selfsup.modalities.registry import register_modality

TINY_CORPUS = "a tiny corpus of letters, words and more"


@register_modality("text")
class TextModality(Modality):
    """Token ids of the tokenizer the backbone was built with (trained by the data source, or
    restored from a checkpoint)."""

    item = "int64 [T]"
    unit = "seq"
    shape_hint = "text items are fixed-length; give every row the same seq_len / max_len"

    def eval_dataset(
        self, spec: str, encoder: Backbone, size: int | None, val_fraction: float
    ) -> Dataset[Any]:
        """A labelled ``.tsv`` encoded with ``encoder``'s tokenizer; ``size``: max tokens (at
        most the encoder's ``max_len``)."""
        tok, max_len = _tokenizer_and_length(encoder, size)
        return text_dataset_from_spec(spec, tok, max_len)

    def item_source(
        self, spec: str, encoder: Backbone, size: int | None, val_fraction: float
    ) -> ItemSource:
        """Lines of a ``.txt`` file (or a folder of them) or rows of a ``.tsv``, each encoded
        with ``encoder``'s tokenizer when read; ``size``: as :meth:`eval_dataset`."""
        return text_item_source(spec, *_tokenizer_and_length(encoder, size))

    def finetune_view(
        self, x: torch.Tensor, crop_scale_min: float, flip: bool, generator: torch.Generator
    ) -> torch.Tensor:
        """The ids unchanged: crops and flips are image views."""
        return x

    def backbone_args(
        self, given: Mapping[str, Any], train_set: Callable[[], Any]
    ) -> dict[str, Any]:
        """``tokenizer``: the given one (a checkpoint's), else the one the data source trains."""
        return {"tokenizer": given.get("tokenizer") or train_set().tokenizer}

    def saved_backbone_args(self, state: Mapping[str, object]) -> dict[str, Any]:
        """The tokenizer a text backbone stored in its extra state."""
        extra = state.get("backbone._extra_state")
        if isinstance(extra, dict) and "tokenizer" in extra:
            return {"tokenizer": TextTokenizer.from_json(extra["tokenizer"])}
        return {}

    def tiny_backbone_args(self) -> dict[str, Any]:
        """A character tokenizer of a one-line corpus."""
        return {"tokenizer": train_tokenizer([TINY_CORPUS])}

    def tiny_input(
        self, backbone: Backbone, batch: int, size: int, generator: torch.Generator
    ) -> torch.Tensor:
        """Random non-special ids ``[batch, size]`` of the backbone's tokenizer."""
        if not isinstance(backbone, TextTransformer):
            raise TypeError(f"text inputs need a text backbone, got {type(backbone).__name__}")
        tok = backbone.tokenizer
        low = max(tok.special_ids) + 1
        return torch.randint(low, tok.vocab_size, (batch, size), generator=generator)


def _tokenizer_and_length(encoder: Backbone, size: int | None) -> tuple[TextTokenizer | None, int]:
    """The encoder's tokenizer (None if it has none) and the row length: ``size`` tokens, at
    most the encoder's ``max_len``."""
    tokenizer = getattr(encoder, "tokenizer", None)
    limit = int(getattr(encoder, "max_len", 64))
    tok = tokenizer if isinstance(tokenizer, TextTokenizer) else None
    return tok, min(size or limit, limit)
