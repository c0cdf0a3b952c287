"""Training-step throughput of a backbone: contiguous vs channels_last memory format, and
optionally channels_last under ``torch.compile`` (what ``train.compile=true`` does).

One step = forward + backward + SGD step on random images. The contenders run alternately,
round after round, so slow drifts of a shared machine hit both alike; compare the ratio. With
``--compile`` the compile time (the first steps) is printed separately.

    python benchmarks/bench_backbones.py                       # ResNet-18 CIFAR stem, batch 256
    python benchmarks/bench_backbones.py --batch 64
    python benchmarks/bench_backbones.py --backbone resnet_tiny --threads 1
    python benchmarks/bench_backbones.py --backbone resnet_tiny --compile
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from dataclasses import dataclass

import torch

from selfsup.backbones import Backbone, create_backbone

FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


@dataclass
class Runner:
    """One model copy, its optimizer and its input batch in one memory format."""

    model: Backbone
    optimizer: torch.optim.Optimizer
    images: torch.Tensor

    def step(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        feats = self.model(self.images)
        feats.pow(2).mean().backward()
        self.optimizer.step()

    def images_per_second(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return steps * self.images.shape[0] / (time.perf_counter() - start)


def make_runners(args: argparse.Namespace) -> dict[str, Runner]:
    torch.manual_seed(0)
    base = create_backbone(args.backbone, cifar_stem=args.cifar_stem).train()
    images = torch.randn(args.batch, 3, args.size, args.size)
    runners = {}
    for name, fmt in FORMATS.items():
        model = copy.deepcopy(base).to(memory_format=fmt)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        runners[name] = Runner(model, opt, images.contiguous(memory_format=fmt))
    if args.compile:
        model = copy.deepcopy(base).to(memory_format=torch.channels_last)
        model.compile()  # in place, as the engine does
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        runners["compiled"] = Runner(
            model, opt, images.contiguous(memory_format=torch.channels_last)
        )
    return runners


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backbone", default="resnet18")
    p.add_argument("--no-cifar-stem", dest="cifar_stem", action="store_false")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=32, help="image side in pixels")
    p.add_argument("--steps", type=int, default=2, help="timed steps per run")
    p.add_argument("--rounds", type=int, default=3, help="alternating runs per format")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--compile", action="store_true", help="add channels_last + torch.compile")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    runners = make_runners(args)
    warmup: dict[str, float] = {}
    for name, runner in runners.items():  # warm-up: allocator, kernel selection, compilation
        start = time.perf_counter()
        for _ in range(2):
            runner.step()
        warmup[name] = time.perf_counter() - start
    results: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, runner in runners.items():
            results[name].append(runner.images_per_second(args.steps))

    print(
        f"# {args.backbone} cifar_stem={args.cifar_stem} batch={args.batch} size={args.size} "
        f"steps={args.steps} rounds={args.rounds} threads={torch.get_num_threads()} "
        f"torch={torch.__version__} load_avg_1m={os.getloadavg()[0]:.1f}"
    )
    print("| format | " + " | ".join(f"round {i + 1}" for i in range(args.rounds)) + " | median |")
    print("|---|" + "---|" * (args.rounds + 1))
    medians = {}
    for name, values in results.items():
        medians[name] = statistics.median(values)
        cells = " | ".join(f"{v:.1f}" for v in values)
        print(f"| {name} img/s | {cells} | {medians[name]:.1f} |")
    ratios = [c / d for c, d in zip(results["channels_last"], results["contiguous"], strict=True)]
    cells = " | ".join(f"{r:.2f}" for r in ratios)
    print(f"| channels_last / contiguous | {cells} | {statistics.median(ratios):.2f} |")
    if "compiled" in results:
        ratios = [c / d for c, d in zip(results["compiled"], results["channels_last"], strict=True)]
        cells = " | ".join(f"{r:.2f}" for r in ratios)
        print(f"| compiled / channels_last | {cells} | {statistics.median(ratios):.2f} |")
        print(
            f"compile: first 2 steps {warmup['compiled']:.1f} s "
            f"(eager: {warmup['channels_last']:.1f} s)"
        )


if __name__ == "__main__":
    main()
