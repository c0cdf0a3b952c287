"""``selfsup embed`` throughput and peak memory at two source sizes: memory should stay flat.

Trains a one-step SimCLR ``resnet_tiny`` run on the bundled digits (views at ``--size`` px, so
the encoder reads CIFAR at that size unresized), then embeds the first 5,000 and 20,000
CIFAR-10 training images (a temporary folder of symlinks into ``../shared/data/cifar10``, the
classes kept) with ``selfsup embed``, each in a fresh subprocess with ``OMP_NUM_THREADS`` set
to ``--threads``. Reported per size: items/s of the embed pass (from its summary line), wall
seconds of the whole command, and peak RSS (``ru_maxrss``) of the command and of the largest
process it started (its DataLoader workers, or a short-lived fork made while importing).

    python benchmarks/bench_embed.py [--counts 5000 20000] [--size 16] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CIFAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10" / "train"

CHILD = """
import json, resource, sys
from selfsup.cli import main
code = main(sys.argv[1:])
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print("RSS " + json.dumps({"code": code, "peak_mib": own, "children_peak_mib": workers}))
"""


def train_checkpoint(run_dir: Path, size: int) -> Path:
    """A one-step digits SimCLR run whose eval view is ``size`` px."""
    from selfsup.config.load import load_config
    from selfsup.engine.run import pretrain

    overrides = [
        "data.source=digits",
        "data.batch_size=64",
        "backbone.name=resnet_tiny",
        "augment.name=simclr",
        f"augment.size={size}",
        "method.name=simclr",
        "train.max_steps=1",
        "train.progress=false",
        "eval.knn_every_n_epochs=0",
    ]
    return pretrain(load_config(None, overrides), run_dir=run_dir).run_dir


def link_subset(root: Path, count: int) -> Path:
    """``root`` filled with symlinks to the first ``count`` CIFAR files, class by class in
    turn (so every class is present), keeping the class folders."""
    classes = sorted(p for p in CIFAR.iterdir() if p.is_dir())
    files = [sorted(c.iterdir()) for c in classes]
    picked = 0
    for i in range(max(len(f) for f in files)):
        for cls, names in zip(classes, files, strict=True):
            if picked == count:
                return root
            if i < len(names):
                target = root / cls.name / names[i].name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(names[i].resolve())
                picked += 1
    return root


def embed(run: Path, data: Path, out: Path, args: argparse.Namespace) -> dict[str, float]:
    argv = ["embed", "--checkpoint", str(run), "--data", str(data), "--out", str(out)]
    argv += ["--size", str(args.size), "--batch-size", str(args.batch_size)]
    argv += ["--part-size", str(args.part_size), "--num-workers", str(args.num_workers)]
    argv += ["--format", args.format, "--progress-every", "1000"]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    rate = re.search(r"([\d,]+) items/s", proc.stdout)
    memory = json.loads(proc.stdout.split("RSS ", 1)[1])
    return {
        "items_per_s": float(rate.group(1).replace(",", "")) if rate else float("nan"),
        "wall_s": wall,
        **memory,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--counts", type=int, nargs="+", default=[5000, 20000])
    p.add_argument("--size", type=int, default=16, help="image side the encoder reads")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--part-size", type=int, default=2000)
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--format", choices=("parquet", "npy"), default="parquet")
    args = p.parse_args()
    if not CIFAR.is_dir():
        raise SystemExit(f"needs the CIFAR-10 JPEG folder at {CIFAR.resolve()}")
    with tempfile.TemporaryDirectory() as tmp:
        run = train_checkpoint(Path(tmp) / "run", args.size)
        rows = []
        for count in args.counts:
            data = link_subset(Path(tmp) / f"cifar-{count}", count)
            result = embed(run, data, Path(tmp) / f"out-{count}", args)
            rows.append({"items": count, **result})
    print(
        f"\nselfsup embed, resnet_tiny, {args.size} px, batch {args.batch_size}, "
        f"part {args.part_size}, {args.num_workers} workers, {args.threads} thread(s), "
        f"{args.format}"
    )
    print("| items | items/s | wall s | peak RSS MiB | children peak MiB |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['items']:,} | {r['items_per_s']:,.0f} | {r['wall_s']:.1f} | "
            f"{r['peak_mib']:.0f} | {r['children_peak_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
