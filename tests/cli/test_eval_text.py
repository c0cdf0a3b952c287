"""``selfsup eval`` on text checkpoints: the lm protocol, and probes on labelled TSVs read with
the checkpoint's own tokenizer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from selfsup.cli import main
from selfsup.config.load import load_config
from selfsup.engine.load import load_method
from selfsup.engine.run import pretrain

TINY = ["backbone.dim=32", "backbone.depth=1", "backbone.heads=2", "backbone.max_len=16"]
COMMON = ["optim.name=adamw", "train.progress=false", "eval.knn_every_n_epochs=0"]


def test_lm_protocol_scores_the_whole_val_split(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("to be or not to be, that is the question. " * 40)
    cfg = load_config(
        None,
        [
            "data.source=text",
            f"data.path={corpus}",
            "data.seq_len=16",
            "data.batch_size=8",
            "backbone.name=text_decoder_tiny",
            *TINY,
            "method.name=gpt",
            "train.max_steps=3",
            *COMMON,
        ],
    )
    run = pretrain(cfg, run_dir=tmp_path / "gpt").run_dir
    out = tmp_path / "lm.json"
    assert main(["eval", "lm", "--checkpoint", str(run), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    # Independent check: the mean next-token loss over every val window, computed here.
    method, cfg = load_method(run)
    from selfsup.engine.build import build_split

    val = build_split(cfg, "val")
    with torch.no_grad():
        losses = [float(method.lm_loss({"input": val[i]["input"][None]})) for i in range(len(val))]
    assert result["val_loss"] == pytest.approx(sum(losses) / len(losses), rel=1e-4)
    assert result["perplexity"] == pytest.approx(math.exp(result["val_loss"]), rel=1e-6)


def test_text_probes_read_tsv_with_the_checkpoint_tokenizer(tmp_path: Path) -> None:
    rows = ["label\tcontent"]  # SST-2 dev's header; train.tsv says "sentence"
    for i in range(40):
        rows.append(f"1\ta good fine great film {i}" if i % 2 else f"0\ta bad dull awful film {i}")
    train = tmp_path / "train.tsv"
    train.write_text("\n".join(rows) + "\n")
    cfg = load_config(
        None,
        [
            "data.source=tsv",
            f"data.path={train}",
            "data.max_len=16",
            "data.text_column=content",
            "data.vocab_size=60",
            "data.batch_size=8",
            "backbone.name=text_encoder_tiny",
            *TINY,
            "method.name=bert_mlm",
            "train.max_steps=2",
            *COMMON,
        ],
    )
    run = pretrain(cfg, run_dir=tmp_path / "bert").run_dir
    out = tmp_path / "knn.json"
    args = ["eval", "knn", "--checkpoint", str(run), "--train", str(train), "--test", str(train)]
    assert main([*args, "--k", "1", "--out", str(out), "--no-cache"]) == 0
    # Each test sentence is its own nearest neighbour in the bank: 1-NN is exact.
    assert json.loads(out.read_text())["knn_top1"] == pytest.approx(1.0)
    missing = ["eval", "knn", "--checkpoint", str(run), "--train", "nope.tsv", "--test", "x.tsv"]
    assert main(missing) == 2
