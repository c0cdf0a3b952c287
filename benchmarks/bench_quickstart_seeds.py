"""The quickstart's table over several seeds: one run is not a measure on 450 test digits.

Runs ``selfsup quickstart`` in this process once per seed (online kNN off, no progress bar),
with any extra ``section.key=value`` overrides, and prints each seed's three rows, then the
mean margin of the pretrained row over raw pixels and over random init. One test image is
0.22 points, so compare recipes by their means over the same seeds.

    python benchmarks/bench_quickstart_seeds.py --seeds 0 1 2 [--epochs N] [overrides ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from selfsup.cli.quickstart import run_quickstart

ROWS = ("raw pixels", "random init", "pretrained")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("overrides", nargs="*", help="e.g. data.batch_size=64")
    args = parser.parse_args()

    quiet = ["eval.knn_every_n_epochs=0", "train.progress=false"]
    runs = []
    print("| seed | " + " | ".join(f"{r} kNN / linear" for r in ROWS) + " | pretrain s |")
    print("|---" * (len(ROWS) + 2) + "|")
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as out:
            summary = run_quickstart(
                out, args.epochs, [*quiet, f"train.seed={seed}", *args.overrides], show=False
            )
        rows = summary["rows"]
        runs.append(rows)
        cells = " | ".join(
            f"{100 * rows[r]['knn_top1']:.1f} / {100 * rows[r]['linear_top1']:.1f}" for r in ROWS
        )
        print(f"| {seed} | {cells} | {summary['pretrain_seconds']:.0f} |", flush=True)

    for base in ("raw pixels", "random init"):
        margin = " / ".join(
            f"{100 * statistics.mean(r['pretrained'][m] - r[base][m] for r in runs):+.2f}"
            for m in ("knn_top1", "linear_top1")
        )
        print(f"mean margin of the pretrained row over {base} (kNN / linear): {margin}")


if __name__ == "__main__":
    main()
