"""Short CPU-budget probes of one recipe's variants: which change buys kNN accuracy per second.

Each variant trains ``--config`` plus its overrides for ``--cpu-minutes`` of process CPU time
(``train.budget_clock=cpu``, so variants running side by side get the same budget; the LR
cosine spans it) on ``--threads`` threads, then scores kNN of the held-out split against the
whole training split, with the standard protocol (k 200, T 0.1) and DINO's (k 20, T 0.07).

    python benchmarks/bench_budget_probe.py --variant base \\
        t01:method.temperature=0.1 crop20:method.temperature=0.1,augment.scale_min=0.2

A variant is ``name`` or ``name:key=value,key=value``. Needs ../shared/data/cifar10/train for
the default config.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import json, torch
torch.set_num_threads({threads})
from selfsup.config.load import load_config
from selfsup.engine.build import build_split
from selfsup.engine.run import pretrain
from selfsup.eval.protocols import extract_splits, knn_protocol
cfg = load_config({config!r}, {overrides!r})
result = pretrain(cfg, run_dir={run_dir!r})
method = result.method.eval()
train, val = build_split(cfg, cfg.data.train_split), build_split(cfg, cfg.data.val_split)
with torch.no_grad():
    splits = extract_splits(method.embed, train, val, batch_size=512)
steps = result.global_step
row = {{"steps": steps, "epochs": steps * cfg.data.batch_size / len(train)}}
for k, t in ((200, 0.1), (20, 0.07)):
    row[f"knn_k{{k}}"] = knn_protocol(splits, k=k, temperature=t)["knn_top1"]
print("RESULT " + json.dumps(row))
"""


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``name:key=value,key=value`` -> (name, overrides)."""
    name, _, rest = text.partition(":")
    return name, [kv for kv in rest.split(",") if kv]


def run_variant(text: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train and score one variant in a subprocess; its result row (or its error)."""
    name, extra = parse_variant(text)
    overrides = [
        f"train.max_minutes={args.cpu_minutes}",
        "train.budget_clock=cpu",
        "train.max_epochs=1000",
        "train.progress=false",
        "train.checkpoint_every_n_steps=1000000",
        "eval.knn_every_n_epochs=0",
        f"optim.warmup_epochs={args.warmup_epochs}",
        *extra,
    ]
    code = _PROBE.format(
        threads=args.threads,
        config=str(args.config),
        overrides=overrides,
        run_dir=str(args.out_dir / name),
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"variant": name, "overrides": extra, "error": err}
    return {"variant": name, "overrides": extra, **json.loads(lines[-1][len("RESULT ") :])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "cifar10-cpu30.yaml")
    parser.add_argument("--variant", nargs="+", default=["base"])
    parser.add_argument("--cpu-minutes", type=float, default=6.0)
    parser.add_argument(
        "--warmup-epochs", type=float, default=0.15, help="short runs, short warmup"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "runs" / "budget-probe")
    parser.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = parser.parse_args()
    args.config = args.config.resolve()
    args.out_dir = args.out_dir.resolve()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(lambda v: run_variant(v, args), args.variant))
    print(
        f"| variant ({args.cpu_minutes:g} CPU-min, {args.threads} thread) | overrides | steps "
        "| epochs | kNN k 200 | kNN k 20 |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        extra = ", ".join(r["overrides"]) or "(config as is)"
        if "error" in r:
            print(f"| {r['variant']} | {extra} | error: {r['error']} | | | |")
            continue
        print(
            f"| {r['variant']} | {extra} | {r['steps']} | {r['epochs']:.2f} "
            f"| {100 * r['knn_k200']:.1f}% | {100 * r['knn_k20']:.1f}% |"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
