"""CLIP speech <-> text retrieval on espeak-ng pairs after a fixed CPU budget, against chance
and the same towers at random init; prints a table (held-out sentences only).

Make the pairs first (``benchmarks/make_speech_pairs.py --out /tmp/speech-pairs``), then::

    python benchmarks/bench_clip_speech_text.py --pairs /tmp/speech-pairs/pairs.tsv \\
        --minutes 2 --threads 1 [overrides ...]

``method.tower_b={from: RUN}`` plus ``data.b`` with that run's ``tokenizer.json`` compares a
selfsup-pretrained text tower (``selfsup export RUN`` writes the file).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from selfsup.config.load import load_config
from selfsup.data.pairs import load_pairs
from selfsup.engine.build import build_method
from selfsup.engine.load import load_method
from selfsup.engine.run import pretrain
from selfsup.eval.crossmodal import crossmodal_report

KS = (1, 10)


def overrides(pairs: str, minutes: float) -> list[str]:
    return [
        "data.source=pairs",
        f"data.path={pairs}",
        "data.a={modality: audio, column: wav, sample_rate: 8000, max_seconds: 3}",
        "data.b={modality: text, column: text, tokenizer: wordpiece, vocab_size: 2000, "
        "max_len: 24}",
        "data.batch_size=32",
        "backbone.name=wav2vec2_tiny",
        "backbone.sample_rate=8000",
        "augment.name=none",
        "method.name=clip",
        "method.tower_b={name: text_encoder_tiny, dim: 64, depth: 2, heads: 2, max_len: 24}",
        "optim.name=adamw",
        "optim.base_lr=0.004",
        "optim.warmup_epochs=0",
        f"train.max_minutes={minutes}",
        "train.max_steps=-1",
        "train.max_epochs=1000",
        "train.progress=false",
        "train.channels_last=false",
        "eval.knn_every_n_epochs=0",
        "eval.val_loss_every_n_steps=0",
        f"train.output_dir={tempfile.mkdtemp()}",
    ]


def evaluate(method, cfg) -> dict:
    args = cfg.data.args
    data = load_pairs(args["path"], args["a"], args["b"], "val", tokenizer=method.tower_b.tokenizer)
    return crossmodal_report(method.embed_pair, method.embed_b, data, zero_shot="off")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pairs", required=True, help="pairs.tsv from make_speech_pairs.py")
    p.add_argument("--minutes", type=float, default=2.0, help="training budget (wall clock)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cfg = load_config(None, [*overrides(a.pairs, a.minutes), *a.overrides])
    start = time.time()
    result = pretrain(cfg)
    seconds = time.time() - start
    trained, cfg = load_method(result.run_dir)
    torch.manual_seed(cfg.train.seed)
    tok = {"towers": {"tower_b": {"tokenizer": trained.tower_b.tokenizer}}}
    random_init = build_method(cfg, **tok).eval()
    rows = {
        "CLIP after the budget": evaluate(trained, cfg),
        "random init": evaluate(random_init, cfg),
    }
    queries = rows["random init"]["audio->text queries"]
    sentences = rows["random init"]["text->audio queries"]
    print(
        f"training: {result.global_step} steps (batch {cfg.data.batch_size}) in {seconds:.0f} s, "
        f"{a.threads} thread(s), load avg {os.getloadavg()[0]:.1f}; held out: {queries} "
        f"recordings of {sentences} sentences"
    )
    print(
        "| towers | speech->text R@1 | R@10 | median rank | text->speech R@1 | R@10 | median rank |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        cells = [r[f"audio->text R@{k}"] for k in KS] + [r["audio->text median rank"]]
        cells += [r[f"text->audio R@{k}"] for k in KS] + [r["text->audio median rank"]]
        print(
            f"| {name} | " + " | ".join(f"{c:.3f}" if c < 1 else f"{c:.0f}" for c in cells) + " |"
        )
    # Chance: speech->text picks 1 of the distinct sentences; text->speech finds any of its
    # recordings among all of them (about voices/N per draw).
    voices = queries / sentences
    t2s = [1 - (1 - voices / queries) ** k for k in KS]
    cells = (
        [k / sentences for k in KS] + [(sentences + 1) / 2] + t2s + [(queries + 1) / (voices + 1)]
    )
    print("| chance | " + " | ".join(f"{c:.3f}" if c < 1 else f"{c:.0f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
