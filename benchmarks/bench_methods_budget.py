"""Every method's CPU preset under the same CPU budget, then kNN top-1 on a held-out split.

Each method trains from its ``configs/<method>-cifar10-cpu.yaml`` preset for ``--cpu-minutes``
of process CPU time (``train.budget_clock=cpu``: a fair budget even when the machine is shared;
the LR cosine spans the budget), with ``--threads`` threads, in its own subprocess; ``--jobs``
methods run side by side. Then the frozen backbone is evaluated by kNN (k=200, T=0.1) with
``--bank`` random train-split images as bank and all of the held-out split (the last 10% of each
CIFAR-10 class by file name: 5,000 images) as queries. Prints a
Markdown table and writes JSON. Images/CPU-s counts one image (all its views) per CPU-second
of the training loop (with --threads 1, that is images/s of one core).

    python benchmarks/bench_methods_budget.py --cpu-minutes 8 --jobs 2 --threads 1
    python benchmarks/bench_methods_budget.py --methods simclr byol --cpu-minutes 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
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

WORKER = """
import json, sys, time, torch
torch.set_num_threads({threads})
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain
from selfsup.eval.protocols import extract_splits, knn_protocol
from selfsup.engine.build import build_split
from selfsup.engine.subset import labeled_subset
cfg = load_config({preset!r}, {overrides!r})
wall0 = time.monotonic()
result = pretrain(cfg, run_dir={run_dir!r})
wall = time.monotonic() - wall0  # includes decoding the data set once
cpu = torch.load(result.last_checkpoint, weights_only=False)["selfsup_clock"]["elapsed"]
method = result.method.eval()
train, val = build_split(cfg, "train"), build_split(cfg, "val")
bank = labeled_subset(train, {bank}, 0)
with torch.no_grad():
    splits = extract_splits(method.embed, bank, val, batch_size=512)
knn = knn_protocol(splits, k=200, temperature=0.1)
steps = result.global_step
print("RESULT " + json.dumps({{
    "steps": steps, "images": steps * cfg.data.batch_size, "epochs": steps * cfg.data.batch_size
    / len(train), "run_wall_s": wall, "train_cpu_s": cpu, "knn_top1": knn["knn_top1"],
}}))
"""


def run_method(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train and evaluate one method in a subprocess; its result row."""
    preset = ROOT / "configs" / f"{name}-cifar10-cpu.yaml"
    run_dir = Path(args.out_dir) / name
    overrides = [
        f"train.max_minutes={args.cpu_minutes}",
        "train.budget_clock=cpu",
        "train.max_epochs=1000",
        "train.progress=false",
        "train.checkpoint_every_n_steps=1000000",
        "eval.knn_every_n_epochs=0",
        f"train.seed={args.seed}",
        *args.override,
    ]
    code = WORKER.format(
        threads=args.threads,
        preset=str(preset),
        overrides=overrides,
        run_dir=str(run_dir),
        bank=args.bank,
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"method": name, "error": tail}
    row: dict[str, Any] = {"method": name, **json.loads(lines[-1][len("RESULT ") :])}
    row["total_wall_s"] = time.monotonic() - start
    row["img_per_cpu_s"] = row["images"] / row["train_cpu_s"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="*", default=CONTRASTIVE)
    parser.add_argument("--cpu-minutes", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bank", type=int, default=10_000, help="kNN bank: train images")
    parser.add_argument("--out-dir", default="runs/bench-methods")
    parser.add_argument("--override", nargs="*", default=[], help="extra key=value overrides")
    parser.add_argument("--json", default=None, help="write the rows here")
    args = parser.parse_args()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(lambda m: run_method(m, args), args.methods))
    print(
        f"\n{args.cpu_minutes} CPU-minutes per method, {args.threads} thread(s), seed {args.seed}"
    )
    print("| method | kNN top-1 | steps | epochs | img/CPU-s |")
    print("|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: -r.get("knn_top1", -1.0)):
        if "error" in r:
            print(f"| {r['method']} | error: {r['error']} | | | |")
            continue
        print(
            f"| {r['method']} | {100 * r['knn_top1']:.1f} | {r['steps']} | {r['epochs']:.2f} "
            f"| {r['img_per_cpu_s']:.1f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
