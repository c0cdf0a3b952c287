"""selfsup's kNN search against scikit-learn's brute-force cosine NearestNeighbors.

    python benchmarks/bench_knn.py [--bank 50000] [--queries 10000] [--dim 512] [--k 20]

Prints one row per repeat (contenders alternate, so machine noise hits both): seconds for each,
the speed ratio, and the fraction of queries whose k neighbour index sets are identical. Rows
that differ are checked for exact similarity ties at the k-th place (then either set is right).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from selfsup.eval.knn import knn_neighbors


def sklearn_neighbors(bank: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices [Q, k] from scikit-learn's brute-force cosine search."""
    nn = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(bank)
    return nn.kneighbors(queries, return_distance=False)


def agreement(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Fraction of rows whose neighbour index sets are equal (order within a row ignored)."""
    return float((np.sort(ours, axis=1) == np.sort(theirs, axis=1)).all(axis=1).mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bank", type=int, default=50_000)
    p.add_argument("--queries", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    g = torch.Generator().manual_seed(0)
    bank = torch.randn(args.bank, args.dim, generator=g)
    queries = torch.randn(args.queries, args.dim, generator=g)
    bank_np, queries_np = bank.numpy(), queries.numpy()
    print(
        f"bank {args.bank} x {args.dim}, queries {args.queries}, k {args.k}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(f"{'repeat':>6} {'sklearn s':>10} {'selfsup s':>10} {'ratio':>7} {'identical':>10}")
    for r in range(args.repeats):
        t0 = time.perf_counter()
        theirs = sklearn_neighbors(bank_np, queries_np, args.k)
        t1 = time.perf_counter()
        _, ours = knn_neighbors(bank, queries, args.k)
        t2 = time.perf_counter()
        same = agreement(ours.numpy(), theirs)
        print(
            f"{r:>6} {t1 - t0:>10.2f} {t2 - t1:>10.2f} {(t1 - t0) / (t2 - t1):>7.1f} {same:>10.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
