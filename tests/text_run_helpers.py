"""Tiny text runs on a one-line corpus for engine, report and CLI tests: a 1-block, 32-wide
GPT or BERT with a 16-token context, trained for a few steps in a few seconds."""

from __future__ import annotations

from pathlib import Path

from selfsup.config.load import load_config
from selfsup.engine.run import PretrainResult, pretrain

CORPUS = "to be or not to be, that is the question. " * 40
SEQ_LEN = 16


def tiny_text_run(
    folder: Path, method: str = "gpt", steps: int = 4, overrides: tuple[str, ...] = ()
) -> PretrainResult:
    """Pretrain ``method`` (gpt: a decoder; bert_mlm: an encoder) on ``folder/corpus.txt``
    with 16-token windows (17 ids: inputs plus the next-token target) and a ``max_len`` 16
    backbone, into ``folder/<method>``."""
    corpus = folder / "corpus.txt"
    corpus.write_text(CORPUS)
    backbone = "text_decoder_tiny" if method == "gpt" else "text_encoder_tiny"
    cfg = load_config(
        None,
        [
            "data.source=text",
            f"data.path={corpus}",
            f"data.seq_len={SEQ_LEN}",
            "data.batch_size=8",
            f"backbone.name={backbone}",
            "backbone.dim=32",
            "backbone.depth=1",
            "backbone.heads=2",
            f"backbone.max_len={SEQ_LEN}",
            f"method.name={method}",
            "augment.name=none",
            "optim.name=adamw",
            "optim.warmup_epochs=0",
            f"train.max_steps={steps}",
            "train.log_every_n_steps=1",
            "train.progress=false",
            "train.channels_last=false",
            "eval.knn_every_n_epochs=0",
            *overrides,
        ],
    )
    return pretrain(cfg, run_dir=folder / method)
