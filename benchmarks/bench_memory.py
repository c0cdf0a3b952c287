"""Peak memory of one training step for every registered method, at a fixed batch.

Each method runs in a fresh subprocess (peak RSS cannot be reset inside a process): it is built
from its ``configs/<method>-cifar10-cpu.yaml`` preset when there is one (its augment recipe and
method arguments; otherwise ``simclr`` views and default arguments) on ``resnet_tiny``, or on
the preset's ``vit_tiny`` for methods that need patch tokens, then runs ``--steps`` training
steps (views from uint8, forward, backward, optimizer, teacher update) on random 32 px images.
Reported: parameters, RSS before the first step, peak RSS (``ru_maxrss``), and their difference
(the step's activations, gradients, optimizer state and views). Text methods are skipped.

    python benchmarks/bench_memory.py [--batch 64] [--steps 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

import torch

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def run_one(name: str, batch: int, steps: int) -> dict[str, object]:
    """Build ``name`` as described in the module docstring, step it, return its memory."""
    from selfsup.augment import AUGMENTS
    from selfsup.config.load import load_config
    from selfsup.engine.build import build_method
    from selfsup.engine.optim import build_optimizer
    from selfsup.methods.registry import METHODS

    cls = METHODS.get(name)
    modality = getattr(cls, "modality", "image")
    if modality != "image":
        return {"method": name, "skipped": f"{modality} method (needs a text backbone)"}
    preset = CONFIGS / f"{name}-cifar10-cpu.yaml"
    overrides = [f"data.batch_size={batch}"]
    note = preset.name if preset.is_file() else "no preset: simclr views"
    if not preset.is_file():
        overrides += [f"method.name={name}", "augment.name=simclr", "backbone.name=resnet_tiny"]
    cfg = load_config(preset if preset.is_file() else None, overrides)
    if cfg.augment.name not in AUGMENTS.names() and cfg.augment.name != "none":
        return {"method": name, "skipped": f"augment {cfg.augment.name!r} is not registered"}
    if not getattr(cls, "requires_tokens", False) and cfg.backbone.name != "resnet_tiny":
        cfg = load_config(preset, [*overrides, "backbone.name=resnet_tiny"])
    method = build_method(cfg)
    opt = build_optimizer(method, cfg.optim, lr=0.01)
    images = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8)
    batch_dict = {"input": images, "label": torch.zeros(batch, dtype=torch.long)}
    gen = torch.Generator().manual_seed(0)
    before = _rss_mib()
    for step in range(steps):
        loss = method.training_step(batch_dict, generator=gen)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        method.on_step_end(step + 1, 100)  # optimizer steps done
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    params = sum(p.numel() for p in method.parameters()) / 1e6
    return {
        "method": name,
        "backbone": cfg.backbone.name,
        "augment": cfg.augment.name,
        "views": getattr(method.augment, "num_views", "-"),
        "params_m": round(params, 2),
        "rss_before_mib": round(before),
        "peak_mib": round(peak),
        "step_mib": round(peak - before),
        "note": note,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--methods", nargs="*", default=None, help="default: every registered one")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the per-method subprocess
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.one:
        import selfsup.methods  # noqa: F401  registers the methods

        print(json.dumps(run_one(args.one, args.batch, args.steps)))
        return
    from selfsup.methods import list_methods

    names = args.methods or list_methods()
    print(f"batch {args.batch}, 32 px, {args.steps} steps, {args.threads} thread(s); MiB")
    print(
        f"{'method':<14}{'backbone':<13}{'augment':<11}{'views':>6}{'params M':>9}"
        f"{'RSS before':>11}{'peak RSS':>9}{'step':>7}  note"
    )
    for name in names:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            name,
            "--batch",
            str(args.batch),
            "--steps",
            str(args.steps),
            "--threads",
            str(args.threads),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
        if done.returncode != 0 or not lines:
            err = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"{name:<14}failed: {err}")
            continue
        r = json.loads(lines[-1])
        if "skipped" in r:
            print(f"{name:<14}skipped: {r['skipped']}")
            continue
        print(
            f"{name:<14}{r['backbone']:<13}{r['augment']:<11}{r['views']!s:>6}"
            f"{r['params_m']:>9}{r['rss_before_mib']:>11}{r['peak_mib']:>9}{r['step_mib']:>7}"
            f"  {r['note']}"
        )


if __name__ == "__main__":
    main()
