"""Evaluation text sets named on the command line: a labelled ``.tsv`` with a header, read with
the checkpoint's own tokenizer so ids mean what they meant in pretraining."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from selfsup.data.text import labeled_tsv
from selfsup.data.tokenizers import TextTokenizer
from selfsup.registry import ConfigError


def text_dataset_from_spec(
    spec: str, tokenizer: TextTokenizer | None, max_len: int
) -> Dataset[Any]:
    """``PATH.tsv``: the ``label`` column and the text in ``sentence`` (or the other column:
    SST-2's dev file calls it ``content``), as padded rows of ``max_len`` ids.

    ``tokenizer`` None (a checkpoint without one) is a ConfigError once the file checks out.
    """
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"text data not found: {spec} (give a labelled .tsv file)")
    with path.open(encoding="utf-8", errors="strict") as f:
        header = f.readline().rstrip("\n").split("\t")
    others = [c for c in header if c != "label"]
    if "label" not in header or not others:
        raise ConfigError(f"{spec}: expected a header with 'label' and a text column, got {header}")
    text_column = "sentence" if "sentence" in header else others[0]
    if tokenizer is None:
        raise ConfigError("this checkpoint's text encoder carries no tokenizer")
    return labeled_tsv(str(path), tokenizer, text_column, "label", max_len)
