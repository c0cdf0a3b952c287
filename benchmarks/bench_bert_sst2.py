"""BERT-style MLM on SST-2 train sentences, then a frozen probe on SST-2 dev; prints a table.

Rows: the pretrained encoder (last layer, and all layers concatenated so the probe weighs
them), the same encoder at random init, and bag-of-words logistic regression (sklearn).
Usage::

    python benchmarks/bench_bert_sst2.py [--threads 1] [--probe-train 10000] [overrides ...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from torch.utils.data import Subset

import selfsup.backbones.text
import selfsup.data.text
import selfsup.methods.language.bert_mlm  # noqa: F401  (registers the text pieces)
from selfsup.config.load import load_config
from selfsup.data.skips import SkipLog
from selfsup.data.text_read import read_tsv
from selfsup.engine.build import build_method, build_split
from selfsup.engine.load import load_method
from selfsup.engine.run import pretrain
from selfsup.eval.text_probe import all_layers_encoder, layer_encoder, probe_text_features

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(ROOT / "configs/bert-sst2-cpu.yaml"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--probe-train", type=int, default=10000, help="train sentences probed")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.chdir(ROOT)
    cfg = load_config(args.config, [f"train.output_dir={tempfile.mkdtemp()}", *args.overrides])
    start = time.time()
    result = pretrain(cfg)
    train_s = time.time() - start
    trained, cfg = load_method(result.run_dir)
    torch.manual_seed(cfg.train.seed)
    random_init = build_method(cfg, tokenizer=trained.backbone.tokenizer).eval()
    g = torch.Generator().manual_seed(0)
    train_full = build_split(cfg, "train")
    keep = torch.randperm(len(train_full), generator=g)[: args.probe_train].tolist()
    train, dev = Subset(train_full, keep), build_split(cfg, "val")
    rows = []
    for name, method in (("MLM-pretrained", trained), ("random init", random_init)):
        bb = method.backbone
        for layers, enc in (("last", layer_encoder(bb)), ("all (concat)", all_layers_encoder(bb))):
            r = probe_text_features(enc, train, dev)
            rows.append((f"{name}, {layers} layer", r["linear_top1"], r["knn_top1"]))
    rows.append(("bag of words + logistic regression", bow_accuracy(cfg, keep), float("nan")))
    majority = max(float((dev.labels == c).float().mean()) for c in (0, 1))  # type: ignore[attr-defined]
    rows.append(("majority class", majority, float("nan")))
    print(
        f"pretraining: {result.global_step} steps in {train_s:.0f} s; "
        f"probe on {len(train)} train sentences, {len(dev)} dev; load avg "
        f"{os.getloadavg()[0]:.1f}"
    )
    print("| features | linear probe dev acc | kNN (k=20) dev acc |")
    print("|---|---|---|")
    for name, lin, knn in rows:
        print(f"| {name} | {lin:.3f} | {knn:.3f} |")


def bow_accuracy(cfg: object, keep: list[int]) -> float:
    """Logistic regression on word counts, trained on the same train sentences."""
    args = cfg.data.args  # type: ignore[attr-defined]
    skips = SkipLog("lines")
    train = list(read_tsv(Path(args["path"]), args["text_column"], args["label_column"], skips))
    dev = list(read_tsv(Path(args["val_path"]), args["text_column"], args["label_column"], skips))
    train = [train[i] for i in keep]
    vec = CountVectorizer(ngram_range=(1, 2), min_df=1)
    x = vec.fit_transform([t for t, _ in train])
    clf = LogisticRegression(max_iter=2000, C=1.0).fit(x, [y for _, y in train])
    return float(clf.score(vec.transform([t for t, _ in dev]), [y for _, y in dev]))


if __name__ == "__main__":
    main()
