"""Curriculum schedules against the constant recipe, several seeds, the same CPU budget each.

Variants (each a list of overrides on a preset):

- ``simclr-constant``: the CPU budget recipe ``configs/cifar10-cpu30.yaml`` as it is (16 px
  views of 16 px images, crops of at least 20%, colour strength 0.5);
- ``simclr-progressive``: view size 8 -> 12 -> 16 px at 30% / 60% of the budget (progressive
  resizing: more images per CPU-second early on);
- ``simclr-easy-crops``: crops from 60% -> 20% of the image and colour strength 0.25 -> 0.5,
  linearly (easy views first);
- ``mae-constant``: ``configs/mae-cifar10-cpu.yaml`` (mask ratio 0.75);
- ``mae-ratio``: the mask ratio 0.5 -> 0.75 linearly.

Every run trains for ``--cpu-minutes`` of process CPU time (the schedules follow that clock, so
each reaches its end value), then kNN (k=200) and a linear probe on the held-out split (the
last 10% of each CIFAR-10 class), as in ``bench_methods_budget.py``, whose runner this uses.
Prints mean +- std over the seeds and writes every run as JSON.

    python benchmarks/bench_curriculum.py --cpu-minutes 3 --seeds 0 1 2 --jobs 2
    python benchmarks/bench_curriculum.py --variants mae-constant mae-ratio --cpu-minutes 3
    python benchmarks/bench_curriculum.py --table runs.json   # the table of saved runs
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench_methods_budget import ROOT, TRAIN_EVAL, StageError, out_dir, run_stage

RECIPE = str(ROOT / "configs" / "cifar10-cpu30.yaml")
MAE = str(ROOT / "configs" / "mae-cifar10-cpu.yaml")
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "simclr-constant": (RECIPE, []),
    "simclr-progressive": (
        RECIPE,
        ["augment.size={schedule: step, values: [8, 12, 16], at: [0.3, 0.6]}"],
    ),
    "simclr-easy-crops": (
        RECIPE,
        [
            "augment.scale_min={schedule: linear, start: 0.6, end: 0.2}",
            "augment.color_strength={schedule: linear, start: 0.25, end: 0.5}",
        ],
    ),
    "mae-constant": (MAE, []),
    "mae-ratio": (MAE, ["method.mask_ratio={schedule: linear, start: 0.5, end: 0.75}"]),
}
# The recipe stops on its own 30-minute wall budget and whitens its stem from 5,000 images;
# here the CPU budget rules and the stem is whitened the same way for every variant.
COMMON = ["train.whiten_stem_images=5000"]


def run_one(variant: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train and evaluate one variant at one seed; its result row."""
    preset, extra = VARIANTS[variant]
    run_args = copy.copy(args)
    run_args.seed = seed
    run_dir = out_dir(args) / f"{variant}-seed{seed}"
    start = time.monotonic()
    extra = [*extra, *(COMMON if preset == RECIPE else [])]
    try:
        row = run_stage(TRAIN_EVAL, preset, run_dir, args.cpu_minutes, run_args, extra)
    except StageError as err:
        return {"variant": variant, "seed": seed, "error": str(err)}
    return {"variant": variant, "seed": seed, **row, "total_wall_s": time.monotonic() - start}


def mean_std(values: list[float]) -> str:
    """``mean +- std`` in percent (std over seeds; 0 with one seed)."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.fmean(values):.1f} ± {100 * std:.1f}"


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """One line per variant: kNN and linear mean +- std over seeds, steps, images per CPU-s."""
    print(
        f"\n{args.cpu_minutes} CPU-minutes per run, {args.threads} thread(s), "
        f"seeds {' '.join(map(str, args.seeds))}, bank {args.bank}"
    )
    print("| variant | kNN top-1 | linear top-1 | steps | img/CPU-s | runs |")
    print("|---|---|---|---|---|---|")
    for variant in args.variants:
        ok = [r for r in rows if r["variant"] == variant and "error" not in r]
        failed = [r for r in rows if r["variant"] == variant and "error" in r]
        if not ok:
            print(f"| {variant} | error: {failed[0]['error'] if failed else 'no run'} | | | | |")
            continue
        knn = mean_std([r["knn_top1"] for r in ok])
        linear = mean_std([r["linear_top1"] for r in ok])
        steps = statistics.fmean(r["steps"] for r in ok)
        speed = statistics.fmean(r["images"] / r["train_cpu_s"] for r in ok)
        runs = f"{len(ok)}" + (f" ({len(failed)} failed)" if failed else "")
        print(f"| {variant} | {knn} | {linear} | {steps:.0f} | {speed:.1f} | {runs} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--cpu-minutes", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--bank", type=int, default=10_000, help="kNN bank / probe train images")
    parser.add_argument("--out-dir", default="runs/bench-curriculum")
    parser.add_argument("--override", nargs="*", default=[], help="extra key=value overrides")
    parser.add_argument("--json", default=None, help="write the rows here, run by run")
    parser.add_argument("--table", default=None, help="only print the table of a --json file")
    args = parser.parse_args()
    jobs = [(v, s) for s in args.seeds for v in args.variants]  # seeds outer: early partial rows
    if args.table:  # a table of runs saved before, e.g. by a benchmark stopped early
        rows = json.loads(Path(args.table).read_text())
        args.seeds = sorted({r["seed"] for r in rows})
        print_table(rows, args)
        return
    rows = []
    lock = threading.Lock()

    def finished(row: dict[str, Any]) -> None:
        # every run as it ends, so a long benchmark stopped early keeps what it measured
        with lock:
            rows.append(row)
            print("RUN " + json.dumps(row), flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=2))

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, v, s, args) for v, s in jobs]
        for future in futures:
            future.add_done_callback(lambda f: finished(f.result()))
    print_table(rows, args)


if __name__ == "__main__":
    main()
