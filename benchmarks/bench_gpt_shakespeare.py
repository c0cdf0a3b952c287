"""Char-level GPT on tiny Shakespeare within a wall-clock budget; prints a table.

Runs ``selfsup pretrain configs/gpt-shakespeare-cpu.yaml`` (in process, same code path),
then scores the last checkpoint on the FULL val split (last 10% of characters, every
target once). Usage::

    python benchmarks/bench_gpt_shakespeare.py [--threads 1] [key=value overrides ...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

import selfsup.backbones.text
import selfsup.data.text
import selfsup.methods.language.gpt  # noqa: F401  (registers the text pieces)
from selfsup.config.load import load_config
from selfsup.engine.build import build_split
from selfsup.engine.load import load_method
from selfsup.engine.run import pretrain
from selfsup.eval.text_probe import language_model_metrics

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(ROOT / "configs/gpt-shakespeare-cpu.yaml"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.chdir(ROOT)  # the config's data path is relative to the repository
    out = tempfile.mkdtemp(prefix="bench_gpt_")
    cfg = load_config(args.config, [f"train.output_dir={out}", *args.overrides])
    start = time.time()
    result = pretrain(cfg)
    train_s = time.time() - start
    method, cfg = load_method(result.run_dir)
    val = build_split(cfg, cfg.data.val_split)
    metrics = language_model_metrics(method.lm_loss, val, batch_size=64)  # type: ignore[arg-type]
    params = sum(p.numel() for p in method.parameters())
    print("| model | params | steps | train s | val loss | val ppl | val tokens | load avg |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {cfg.backbone.name} {cfg.backbone.args} | {params:,} | {result.global_step} "
        f"| {train_s:.0f} | {metrics['val_loss']:.3f} | {metrics['perplexity']:.2f} "
        f"| {int(metrics['tokens']):,} | {os.getloadavg()[0]:.1f} |"
    )
    print(f"run: {result.run_dir}")


if __name__ == "__main__":
    main()
