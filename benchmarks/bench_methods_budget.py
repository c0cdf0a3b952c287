"""Every method's CPU preset under the same CPU budget, then kNN and linear top-1 on held-out data.

Each method trains from its ``configs/<method>-cifar10-cpu.yaml`` preset for ``--cpu-minutes``
of process CPU time (``train.budget_clock=cpu``: a fair budget even when the machine is shared;
the LR cosine spans the budget), with ``--threads`` threads, in its own subprocess; ``--jobs``
methods run side by side. Then the frozen backbone embeds ``--bank`` random train-split images
and all of the held-out split (the last 10% of each CIFAR-10 class by file name: 5,000 images),
and both protocols run on those same features: kNN (k=200, T=0.1) with the train images as bank,
and a linear probe trained on them (its weight decay is chosen on a split of the train features,
never on the held-out split). Prints a Markdown table and writes JSON. Images/CPU-s counts one
image (all its views) per CPU-second of the training loop (with --threads 1, that is images/s of
one core). The kNN and linear columns give each protocol's own CPU-seconds.

BEiT is two-stage: its frozen visual tokenizer (``configs/vq_tokenizer-cifar10-cpu.yaml``) first
trains for ``--tokenizer-cpu-minutes`` into ``<out-dir>/vq_tokenizer``, once, in the same job slot
(the other methods keep running in parallel); BEiT then gets the normal budget with
``method.tokenizer`` pointing at that run. Its row reports the extra stage-1 CPU-seconds.
Run directories must not exist yet: use a fresh ``--out-dir``.

    python benchmarks/bench_methods_budget.py --cpu-minutes 8 --jobs 2 --threads 1
    python benchmarks/bench_methods_budget.py --methods simclr byol --cpu-minutes 2
    python benchmarks/bench_methods_budget.py --family vit --cpu-minutes 8 --tokenizer-cpu-minutes 2
    python benchmarks/bench_methods_budget.py --family pretext --cpu-minutes 8 --jobs 2 --threads 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONTRASTIVE = [
    "simclr",
    "moco",
    "moco_v3",
    "byol",
    "simsiam",
    "swav",
    "barlow_twins",
    "vicreg",
    "nnclr",
]
VIT = ["mae", "data2vec", "dino", "dinov2", "beit"]
# The classic pretext tasks beside two contrastive / siamese references on the same backbone.
PRETEXT = ["rotation", "jigsaw", "relative_position", "colorization", "inpainting"]
FAMILIES = {
    "contrastive": CONTRASTIVE,
    "vit": VIT,
    "pretext": [*PRETEXT, "simclr", "byol"],
    "all": CONTRASTIVE + VIT + PRETEXT,
}
TOKENIZER = "vq_tokenizer"  # BEiT's stage 1

_TRAIN = """
import json, sys, time, torch
torch.set_num_threads({threads})
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain
cfg = load_config({preset!r}, {overrides!r})
wall0 = time.monotonic()
result = pretrain(cfg, run_dir={run_dir!r})
wall = time.monotonic() - wall0  # includes decoding the data set once
cpu = torch.load(result.last_checkpoint, weights_only=True)["selfsup_clock"]["elapsed"]
steps = result.global_step
"""

TRAIN_ONLY = (
    _TRAIN
    + """
print("RESULT " + json.dumps({{"steps": steps, "run_wall_s": wall, "train_cpu_s": cpu}}))
"""
)

TRAIN_EVAL = (
    _TRAIN
    + """
from selfsup.engine.build import build_split
from selfsup.engine.subset import labeled_subset
from selfsup.eval.protocols import extract_splits, knn_protocol, linear_protocol
method = result.method.eval()
train, val = build_split(cfg, "train"), build_split(cfg, "val")
bank = labeled_subset(train, {bank}, 0)
with torch.no_grad():
    splits = extract_splits(method.embed, bank, val, batch_size=512)
clocks = [(time.monotonic(), time.process_time())]
knn = knn_protocol(splits, k=200, temperature=0.1)
clocks.append((time.monotonic(), time.process_time()))
linear = linear_protocol(splits, seed={seed})  # weight decay picked on a split of the bank
clocks.append((time.monotonic(), time.process_time()))
(w0, c0), (w1, c1), (w2, c2) = clocks
print("RESULT " + json.dumps({{
    "steps": steps, "images": steps * cfg.data.batch_size, "epochs": steps * cfg.data.batch_size
    / len(train), "run_wall_s": wall, "train_cpu_s": cpu, "knn_top1": knn["knn_top1"],
    "linear_top1": linear["linear_top1"], "linear_weight_decay": linear["best_weight_decay"],
    "knn_wall_s": w1 - w0, "knn_cpu_s": c1 - c0, "linear_wall_s": w2 - w1, "linear_cpu_s": c2 - c1,
}}))
"""
)


class StageError(RuntimeError):
    """A worker subprocess failed; the message is the last line of its stderr."""


def out_dir(args: argparse.Namespace) -> Path:
    """The output directory; relative paths are taken from the repository root (workers' cwd)."""
    out = Path(args.out_dir)
    return out if out.is_absolute() else ROOT / out


def run_stage(
    template: str,
    preset: str,
    run_dir: Path,
    minutes: float,
    args: argparse.Namespace,
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    """Train one preset for ``minutes`` CPU-minutes in a subprocess; its RESULT dict."""
    overrides = [
        f"train.max_minutes={minutes}",
        "train.budget_clock=cpu",
        "train.max_epochs=1000",
        "train.progress=false",
        "train.checkpoint_every_n_steps=1000000",
        "eval.knn_every_n_epochs=0",
        f"train.seed={args.seed}",
        *extra,
        *args.override,
    ]
    # a method name means its CIFAR-10 CPU preset; a path ending in .yaml is taken as is
    path = (
        Path(preset)
        if preset.endswith(".yaml")
        else ROOT / "configs" / f"{preset}-cifar10-cpu.yaml"
    )
    code = template.format(
        threads=args.threads,
        preset=str(path),
        overrides=overrides,
        run_dir=str(run_dir),
        bank=args.bank,
        seed=args.seed,
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise StageError((proc.stderr.strip().splitlines() or ["no output"])[-1])
    return json.loads(lines[-1][len("RESULT ") :])


def run_method(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train and evaluate one method (BEiT after its tokenizer stage); its result row."""
    start = time.monotonic()
    extra: list[str] = []
    stage1: dict[str, Any] = {}
    try:
        if name == "beit":
            tok_dir = out_dir(args) / TOKENIZER
            tok = run_stage(TRAIN_ONLY, TOKENIZER, tok_dir, args.tokenizer_cpu_minutes, args)
            stage1 = {"stage1_cpu_s": tok["train_cpu_s"], "stage1_steps": tok["steps"]}
            stage1["stage1_wall_s"] = tok["run_wall_s"]
            extra.append(f"method.tokenizer={tok_dir}")
        row = run_stage(TRAIN_EVAL, name, out_dir(args) / name, args.cpu_minutes, args, extra)
    except StageError as err:
        # name the failing stage when there are two
        prefix = "" if name != "beit" else "stage 2: " if stage1 else f"{TOKENIZER} stage: "
        return {"method": name, **stage1, "error": f"{prefix}{err}"}
    row = {"method": name, **row, **stage1}
    row["total_wall_s"] = time.monotonic() - start
    row["total_cpu_s"] = row["train_cpu_s"] + row.get("stage1_cpu_s", 0.0)
    row["img_per_cpu_s"] = row["images"] / row["train_cpu_s"]  # stage 2 only
    return row


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """The Markdown table, best kNN first."""
    two_stage = any("stage1_cpu_s" in r for r in rows)
    extra = f" (+{args.tokenizer_cpu_minutes} for beit's tokenizer)" if two_stage else ""
    print(
        f"\n{args.cpu_minutes} CPU-minutes per method{extra}, {args.threads} thread(s), "
        f"seed {args.seed}, bank {args.bank}"
    )
    head = [
        "method", "kNN top-1", "linear top-1", "steps", "epochs", "img/CPU-s",
        "train CPU-s", "stage-1 CPU-s", "kNN CPU-s", "linear CPU-s",
    ]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in sorted(rows, key=lambda r: -r.get("knn_top1", -1.0)):
        stage1 = f"{r['stage1_cpu_s']:.0f}" if "stage1_cpu_s" in r else "-"
        if "error" in r:
            cells = [r["method"], f"error: {r['error']}", *[""] * (len(head) - 2)]
            cells[7] = stage1
        else:
            cells = [
                r["method"], f"{100 * r['knn_top1']:.1f}", f"{100 * r['linear_top1']:.1f}",
                str(r["steps"]), f"{r['epochs']:.2f}", f"{r['img_per_cpu_s']:.1f}",
                f"{r['train_cpu_s']:.0f}", stage1, f"{r['knn_cpu_s']:.1f}",
                f"{r['linear_cpu_s']:.1f}",
            ]  # fmt: skip
        print("| " + " | ".join(cells) + " |")
    if two_stage:
        print(
            "\nstage-1 CPU-s: beit's frozen vq_tokenizer, trained on top of the common budget "
            "(img/CPU-s counts stage 2 only)."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="*", default=None, help="overrides --family")
    parser.add_argument("--family", choices=sorted(FAMILIES), default="contrastive")
    parser.add_argument("--cpu-minutes", type=float, default=8.0)
    parser.add_argument(
        "--tokenizer-cpu-minutes", type=float, default=2.0, help="beit's stage-1 budget"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bank", type=int, default=10_000, help="kNN bank / probe train images")
    parser.add_argument("--out-dir", default="runs/bench-methods")
    parser.add_argument("--override", nargs="*", default=[], help="extra key=value overrides")
    parser.add_argument("--json", default=None, help="write the rows here")
    args = parser.parse_args()
    methods = list(dict.fromkeys(args.methods or FAMILIES[args.family]))
    # BEiT's two stages hold one slot the longest, so start them first
    order = sorted(methods, key=lambda m: m != "beit")
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {m: pool.submit(run_method, m, args) for m in order}
    rows = [futures[m].result() for m in methods]
    print_table(rows, args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
