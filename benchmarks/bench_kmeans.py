"""selfsup's batched k-means (torch) against faiss on MFCC-sized frames.

    python benchmarks/bench_kmeans.py [--frames 200000] [--dim 39] [--k 100] [--iters 10]

The data are frames drawn around random centres (what MFCC frames look like to k-means: many
overlapping modes). Both fits start from the same k-means++ seeds and run ``--iters`` Lloyd
passes; prints seconds for seeding and for the passes, seconds per pass, and the final inertia
of each (lower is better), then the seconds to assign every frame.
"""

from __future__ import annotations

import argparse
import time

import torch

from selfsup.nn.kmeans import KMeans


def frames(n: int, dim: int, modes: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(modes, dim, generator=g)
    which = torch.randint(modes, (n,), generator=g)
    return centres[which] + torch.randn(n, dim, generator=g)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--frames", type=int, default=200_000)
    p.add_argument("--dim", type=int, default=39)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--iters", type=int, default=10)
    args = p.parse_args()
    x = frames(args.frames, args.dim, 4 * args.k)
    print(f"{args.frames} x {args.dim} frames, K {args.k}, threads {torch.get_num_threads()}")
    t0 = time.perf_counter()
    seeds = KMeans(args.k, seed=0)._seed(x)
    seeding = time.perf_counter() - t0
    print(f"k-means++ seeding on {256 * args.k} sampled frames: {seeding:.2f} s")
    print(
        f"{'backend':>8} {'fit s':>7} {'s/pass':>7} {'passes':>6} {'inertia':>12} {'assign s':>9}"
    )
    for backend in ("torch", "faiss"):
        model = KMeans(args.k, iterations=args.iters, tol=0.0, backend=backend)
        t0 = time.perf_counter()
        model.fit(x, init=seeds)
        fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.assign(x)
        assign = time.perf_counter() - t0
        passes = len(model.history)
        print(
            f"{backend:>8} {fit:>7.2f} {fit / passes:>7.3f} {passes:>6} "
            f"{model.inertia(x):>12.4g} {assign:>9.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
