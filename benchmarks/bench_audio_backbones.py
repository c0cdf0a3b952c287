"""Forward + backward time of the CPU-sized audio backbones on one training-sized batch.

Batch 16 x 1 s of noise at 8 kHz (FSDD's rate), clips NaN-padded to lengths between 0.5 and
1 s, train mode, ``features.sum().backward()``; the median of ``--steps`` timed steps after two
warm-up steps, with ``--threads`` intra-op threads.

    OMP_NUM_THREADS=2 python benchmarks/bench_audio_backbones.py [--steps 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from selfsup.backbones import create_backbone
from selfsup.nn.audio_padding import pad_clips

NAMES = ("wav2vec2_tiny", "audio_vit_tiny")


def batch(size: int, rate: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(rate // 2, rate + 1, (size,), generator=g)
    lengths[0] = rate
    return pad_clips([0.1 * torch.randn(int(n), generator=g) for n in lengths])


def step_seconds(name: str, x: torch.Tensor, steps: int, rate: int) -> tuple[float, int, int]:
    torch.manual_seed(0)
    model = create_backbone(name, sample_rate=rate).train()
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        model.forward_features(x).sum().backward()
        if i >= 2:
            times.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    params = sum(p.numel() for p in model.parameters())
    tokens = int(model.valid_tokens(x).shape[1])
    return statistics.median(times), params, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rate", type=int, default=8000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = batch(args.batch, args.rate)
    seconds_of_audio = float((~torch.isnan(x)).sum()) / args.rate
    print("| backbone | parameters | tokens per 1 s | fwd+bwd s / batch | audio s / s |")
    print("|---|---|---|---|---|")
    for name in NAMES:
        sec, params, tokens = step_seconds(name, x, args.steps, args.rate)
        rate = seconds_of_audio / sec
        print(f"| {name} | {params / 1e6:.2f} M | {tokens} | {sec:.3f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
