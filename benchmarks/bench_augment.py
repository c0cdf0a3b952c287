"""Throughput of SimCLR-style view-making: selfsup vs kornia vs torchvision v2 per image.

Same ops everywhere: random resized crop (scale 0.08-1), horizontal flip, colour jitter
(0.4, 0.4, 0.4, 0.1) with p 0.8, grayscale with p 0.2, normalise; 2 views from a uint8 batch.
``+blur`` rows add Gaussian blur (p 0.5, sigma 0.1-2, kernel ~10% of size) to both batched
implementations. Implementations are timed in alternation, round after round, and the median
round is reported, because a shared machine's speed drifts.

    python benchmarks/bench_augment.py [--rounds 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import kornia.augmentation as K
import torch
from PIL import Image
from torch import nn
from torchvision.transforms import v2

from selfsup.augment import ImageViews, ViewSpec

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.247, 0.243, 0.261)
Runner = Callable[[torch.Tensor], object]


def selfsup_views(size: int, blur_p: float) -> Runner:
    spec = ViewSpec(size, blur_p=blur_p)
    views = ImageViews([spec, spec], MEAN, STD)
    gen = torch.Generator().manual_seed(0)
    return lambda x: views(x, gen)


def kornia_views(size: int, blur_p: float) -> Runner:
    ops: list[nn.Module] = [
        K.RandomResizedCrop((size, size), scale=(0.08, 1.0)),
        K.RandomHorizontalFlip(),
        K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
        K.RandomGrayscale(p=0.2),
    ]
    if blur_p > 0:
        k = max(3, int(0.1 * size) // 2 * 2 + 1)
        ops.append(K.RandomGaussianBlur((k, k), (0.1, 2.0), p=blur_p))
    ops.append(K.Normalize(torch.tensor(MEAN), torch.tensor(STD)))
    pipe = nn.Sequential(*ops)

    def run(x: torch.Tensor) -> object:
        xf = x.float().div_(255.0)
        return [pipe(xf), pipe(xf)]

    return run


def torchvision_transform(size: int) -> v2.Compose:
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(0.08, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            v2.RandomGrayscale(p=0.2),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )


def torchvision_tensor_views(size: int) -> Runner:
    tf = torchvision_transform(size)
    return lambda x: [torch.stack([tf(img) for img in x]) for _ in range(2)]


def torchvision_pil_views(size: int, x: torch.Tensor) -> Runner:
    """Per-image PIL pipeline, as data loaders run it; images are decoded to PIL beforehand."""
    tf = torchvision_transform(size)
    pils = [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in x]
    return lambda _: [torch.stack([tf(img) for img in pils]) for _ in range(2)]


def measure(runners: dict[str, Runner], x: torch.Tensor, rounds: int) -> dict[str, float]:
    """Median images/s (2 views each) per runner, timed in alternation."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():  # warm-up
        run(x)
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            run(x)
            times[name].append(time.perf_counter() - start)
    return {name: x.shape[0] / statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--small-only", action="store_true", help="skip the 224 px setting")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.rounds} rounds")
    print(f"{'setting':<30} {'implementation':<24} {'images/s':>10} {'vs selfsup':>11}")
    settings = ((32, 32, 256), (224, 256, 64))
    for size, in_size, batch in settings[:1] if args.small_only else settings:
        x = torch.randint(0, 256, (batch, 3, in_size, in_size), dtype=torch.uint8)
        runners: dict[str, Runner] = {
            "selfsup": selfsup_views(size, 0.0),
            "kornia": kornia_views(size, 0.0),
            "torchvision v2 tensor/img": torchvision_tensor_views(size),
            "torchvision v2 PIL/img": torchvision_pil_views(size, x),
            "selfsup +blur": selfsup_views(size, 0.5),
            "kornia +blur": kornia_views(size, 0.5),
        }
        rates = measure(runners, x, args.rounds)
        setting = f"{in_size}->{size} px, batch {batch}"
        for name, rate in rates.items():
            base = rates["selfsup +blur" if "blur" in name else "selfsup"]
            print(f"{setting:<30} {name:<24} {rate:>10.0f} {rate / base:>10.2f}x")


if __name__ == "__main__":
    main()
