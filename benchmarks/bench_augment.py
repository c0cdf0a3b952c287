"""View-making throughput: selfsup (batched, in the training process) vs lightly's transforms.

For each recipe, the same images go through
  selfsup : the registered recipe (``simclr``, ``byol``, ``dino``) on uint8 batches cached in
            memory, in this process with ``--threads`` threads;
  lightly : its SimCLRTransform / BYOLTransform / DINOTransform on already-decoded PIL images
            in a DataLoader with ``--workers`` worker processes, as its examples run;
  kornia  : (SimCLR only) kornia.augmentation's batched ops, for reference.
Both sides use the same recipe settings (CIFAR normalisation; SimCLR colour strength 0.5 without
blur; BYOL blur 1.0 / 0.1 + solarize 0 / 0.2; DINO 2 global + 6 local crops, blur 1.0 / 0.1 /
0.5, solarize 0.2 on global 2). Contenders alternate, one pass over the images each per round;
the median round is reported, because a shared machine's speed drifts.

    python benchmarks/bench_augment.py [--rounds 5] [--images 2048] [--imagenet]

Uses ../shared/data/cifar10/train when present (random images otherwise).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import kornia.augmentation as K
import lightly_baselines as lb
import torch
from torch import nn

from selfsup.augment import create_augment

CIFAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10" / "train"
Pass = Callable[[], float]  # one pass over the images; returns its seconds


def load_images(count: int, size: int) -> torch.Tensor:
    """``count`` CIFAR-10 images as uint8 (resized to ``size`` if not 32), or random ones."""
    if CIFAR.is_dir() and size == 32:
        from selfsup.data.images import decode_files, scan_image_folder

        paths = scan_image_folder(CIFAR).paths
        pick = torch.randperm(len(paths), generator=torch.Generator().manual_seed(0))[:count]
        images, _, _ = decode_files([paths[i] for i in pick.tolist()], None, None, root=CIFAR)
        return images
    return torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8)


def batched_pass(views: Callable[[torch.Tensor], object], images: torch.Tensor, batch: int) -> Pass:
    def run() -> float:
        start = time.perf_counter()
        for i in range(0, len(images) - batch + 1, batch):
            views(images[i : i + batch])
        return time.perf_counter() - start

    return run


def selfsup_pass(recipe: str, images: torch.Tensor, batch: int, **kwargs: object) -> Pass:
    views = create_augment(recipe, **kwargs)
    gen = torch.Generator().manual_seed(0)
    return batched_pass(lambda x: views(x, gen), images, batch)


def kornia_pass(images: torch.Tensor, batch: int, size: int) -> Pass:
    pipe = nn.Sequential(
        K.RandomResizedCrop((size, size), scale=(0.08, 1.0)),
        K.RandomHorizontalFlip(),
        K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
        K.RandomGrayscale(p=0.2),
        K.Normalize(torch.tensor(lb.CIFAR_NORM["mean"]), torch.tensor(lb.CIFAR_NORM["std"])),
    )

    def views(x: torch.Tensor) -> object:
        xf = x.float().div_(255.0)
        return [pipe(xf), pipe(xf)]

    return batched_pass(views, images, batch)


def lightly_pass(
    transform: Callable[..., object], images: torch.Tensor, batch: int, workers: int
) -> Pass:
    timer = lb.LoaderTimer(lb.PilImages(images, transform), batch, workers)
    return timer.seconds_per_pass


def measure(passes: dict[str, Pass], images: int, rounds: int) -> dict[str, float]:
    """Median images/s per contender over ``rounds`` alternating rounds (after one warm-up)."""
    for run in passes.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(rounds):
        for name, run in passes.items():
            times[name].append(run())
    return {name: images / statistics.median(t) for name, t in times.items()}


def settings(imagenet: bool) -> list[tuple[str, int, dict[str, object], Callable[[], object]]]:
    """(recipe, input size, selfsup kwargs, lightly transform factory) per benchmarked row."""
    rows: list[tuple[str, int, dict[str, object], Callable[[], object]]] = [
        ("simclr", 32, {"size": 32}, lambda: lb.simclr_transform(32)),
        ("byol", 32, {"size": 32}, lambda: lb.byol_transform(32)),
        ("dino", 32, {}, lambda: lb.dino_transform(32, 16, 6)),
    ]
    if imagenet:
        big = {"global_size": 224, "local_size": 96}
        rows.append(("dino", 256, big, lambda: lb.dino_transform(224, 96, 6)))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--images", type=int, default=2048)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--threads", type=int, default=2, help="selfsup/kornia threads")
    p.add_argument("--workers", type=int, default=2, help="lightly DataLoader workers")
    p.add_argument("--imagenet", action="store_true", help="add DINO at 224/96 px from 256 px")
    p.add_argument("--only", default=None, help="run one recipe: simclr, byol or dino")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}; selfsup {args.threads} threads in-process, lightly "
        f"{args.workers} DataLoader workers; median of {args.rounds} alternating rounds"
    )
    print(f"{'recipe':<22}{'contender':<10}{'images/s':>10}{'selfsup / it':>14}")
    for recipe, in_size, kwargs, make_lightly in settings(args.imagenet):
        if args.only and recipe != args.only:
            continue
        count = args.images if in_size == 32 else args.images // 8
        batch = args.batch if in_size == 32 else args.batch // 4
        images = load_images(count, in_size)
        passes = {
            "selfsup": selfsup_pass(recipe, images, batch, **kwargs),
            "lightly": lightly_pass(make_lightly(), images, batch, args.workers),
        }
        if recipe == "simclr":
            passes["kornia"] = kornia_pass(images, batch, 32)
        rates = measure(passes, len(images) // batch * batch, args.rounds)
        label = f"{recipe} {in_size}px b{batch}"
        for name, rate in rates.items():
            print(f"{label:<22}{name:<10}{rate:>10.0f}{rates['selfsup'] / rate:>13.1f}x")


if __name__ == "__main__":
    main()
