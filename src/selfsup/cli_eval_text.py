"""The text side of ``selfsup eval``: labelled TSVs read with the checkpoint's own tokenizer, and
the ``lm`` protocol (validation loss and perplexity of a language model on its run's val split)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selfsup.registry import ConfigError


def is_text(method: Any) -> bool:
    """Whether the method's encoder reads token ids."""
    return getattr(method.encoder(), "modality", "image") == "text"


def text_dataset_from_spec(spec: str, method: Any, max_len: int | None) -> Any:
    """``PATH.tsv`` with a header: the ``label`` column and the text in ``sentence`` (or the
    other column: SST-2's dev file calls it ``content``), encoded with the checkpoint's
    tokenizer so ids mean what they meant in pretraining."""
    from selfsup.data.text import labeled_tsv

    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"text data not found: {spec} (give a labelled .tsv file)")
    with path.open(encoding="utf-8", errors="strict") as f:
        header = f.readline().rstrip("\n").split("\t")
    others = [c for c in header if c != "label"]
    if "label" not in header or not others:
        raise ConfigError(f"{spec}: expected a header with 'label' and a text column, got {header}")
    text_column = "sentence" if "sentence" in header else others[0]
    tokenizer = getattr(method.encoder(), "tokenizer", None)
    if tokenizer is None:
        raise ConfigError("this checkpoint's text encoder carries no tokenizer")
    limit = int(getattr(method.encoder(), "max_len", 64))
    return labeled_tsv(str(path), tokenizer, text_column, "label", min(max_len or limit, limit))


def lm_metrics(method: Any, cfg: Any, batch_size: int) -> dict[str, Any]:
    """Token-weighted validation loss and perplexity over the run's whole val split."""
    from selfsup.engine.build import build_split
    from selfsup.eval.text_probe import language_model_metrics

    lm_loss = getattr(method, "lm_loss", None)
    if lm_loss is None:
        raise ConfigError(f"eval lm needs a language model (gpt), got {type(method).__name__}")
    val = build_split(cfg, cfg.data.val_split)
    return language_model_metrics(lm_loss, val, batch_size=batch_size)
