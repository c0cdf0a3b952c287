"""Audio view-making throughput: the registered audio recipes on NaN-padded waveform batches.

Each recipe makes its views of ``--batches`` batches of ``--batch`` clips of ``--seconds`` at
``--rate`` Hz, in this process with ``--threads`` threads; the median of ``--rounds`` rounds is
reported in clips per second of this process's CPU time (one clip = all of its views): on a
shared machine, wall time measures the neighbours as much as the views. Two batch shapes: every clip
``--seconds`` long, and clips of 40-100% of it (NaN-padded, so frequency masks run one rfft
group per distinct view length). Input is noise: view cost does not depend on the content.

    python benchmarks/bench_audio_views.py [--batch 64] [--seconds 1] [--rate 8000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from selfsup.augment import create_augment
from selfsup.nn.audio_padding import pad_clips

RECIPES = {
    "audio_contrastive": {},
    "audio_multicrop": {"crop_seconds": 0.8, "local_seconds": 0.3, "num_local": 4},
    "audio_crop": {"crop_seconds": 0.8},
}


def batches(count: int, size: int, samples: int, mixed: bool) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(count):
        lengths = torch.randint(int(0.4 * samples), samples + 1, (size,), generator=gen)
        if not mixed:
            lengths.fill_(samples)
        out.append(pad_clips([torch.randn(int(n), generator=gen) for n in lengths]))
    return out


def clips_per_second(recipe: str, data: list[torch.Tensor], rate: int, rounds: int) -> float:
    views = create_augment(recipe, sample_rate=rate, **RECIPES[recipe])
    gen = torch.Generator().manual_seed(0)
    views(data[0], gen)  # warm-up
    times = []
    for _ in range(rounds):
        start = time.process_time()
        for x in data:
            views(x, gen)
        times.append(time.process_time() - start)
    return sum(len(x) for x in data) / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rate", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    samples = round(args.seconds * args.rate)
    print(f"batch {args.batch} x {args.seconds} s at {args.rate} Hz, {args.threads} thread(s)")
    print("| recipe | views | clips per CPU s, equal lengths | same, 40-100% lengths |")
    print("|---|---|---|---|")
    equal = batches(args.batches, args.batch, samples, mixed=False)
    mixed = batches(args.batches, args.batch, samples, mixed=True)
    for recipe in RECIPES:
        n = create_augment(recipe, sample_rate=args.rate, **RECIPES[recipe]).num_views
        a = clips_per_second(recipe, equal, args.rate, args.rounds)
        b = clips_per_second(recipe, mixed, args.rate, args.rounds)
        print(f"| {recipe} | {n} | {a:,.0f} | {b:,.0f} |")


if __name__ == "__main__":
    main()
