"""Neighbour search at scale: exact torch, faiss flat, faiss IVF and scikit-learn brute force.

    OMP_NUM_THREADS=2 python benchmarks/bench_index.py [--cifar ../shared/data/cifar10/train]
        [--cache-dir /tmp/bench-index] [--parts speed,cifar,million]

Prints three markdown tables:

1. speed on 50,000 bank x 10,000 queries x 512 dims (Gaussian), k=20: build and search seconds
   and recall@k against the exact torch neighbours;
2. recall@k of IVF against exact on real CIFAR-10 features (the first 90% of each class as the
   bank, the last 10% as queries) for several nprobe, with the kNN top-1 each gives: features
   of a randomly initialised resnet_tiny at 32 px, and raw pixels;
3. 1,000,000 x 128 synthetic clustered bank, 10,000 queries, added to the index in chunks of
   65,536 rows: one fresh process per index, its peak RSS against the index's own bytes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from selfsup.eval.exact_search import exact_topk
from selfsup.eval.features import Features, extract_features
from selfsup.eval.knn import knn_evaluate, knn_neighbors
from selfsup.eval.neighbour_index import IndexOptions, NeighbourIndex, create_index

K = 20
MILLION_DIM, CHUNK = 128, 65_536
CIFAR_MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
CIFAR_STD = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)


def rss_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak so far) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def recall(found: torch.Tensor, exact: torch.Tensor) -> float:
    """Mean share of each query's exact k neighbours that ``found`` has too."""
    hits = sum(len(set(a) & set(b)) for a, b in zip(found.tolist(), exact.tolist(), strict=True))
    return hits / exact.numel()


def timed(fn, *args):
    """``fn(*args)`` and the seconds it took."""
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def built(kind: str, bank: torch.Tensor, nprobe: int = 32) -> tuple[NeighbourIndex, float]:
    """An index over ``bank`` and the seconds its training and adding took."""
    index = create_index(kind, bank.shape[1], len(bank), IndexOptions(kind, nprobe=nprobe))
    t0 = time.perf_counter()
    index.train(bank)
    index.add(bank)
    return index, time.perf_counter() - t0


def speed(bank_size: int, queries: int, dim: int, rounds: int) -> None:
    """Every contender once per round (rounds alternate them, so machine noise hits all)."""
    from sklearn.neighbors import NearestNeighbors

    g = torch.Generator().manual_seed(0)
    bank, q = torch.randn(bank_size, dim, generator=g), torch.randn(queries, dim, generator=g)
    print(f"\n### Speed: {bank_size:,} bank x {queries:,} queries x {dim} (Gaussian), k={K}, "
          f"torch threads {torch.get_num_threads()}\n")  # fmt: skip
    flat, t_flat = built("faiss-flat", bank)
    ivf, t_ivf = built("faiss-ivf", bank)
    t0 = time.perf_counter()
    sk = NearestNeighbors(n_neighbors=K, metric="cosine", algorithm="brute").fit(bank.numpy())
    t_sk = time.perf_counter() - t0

    def ivf_search(nprobe: int):
        def run() -> torch.Tensor:
            ivf.nprobe = nprobe
            return ivf.search(q, K)[1]

        return run

    contenders = {
        "exact torch (selfsup)": (0.0, lambda: knn_neighbors(bank, q, K)[1]),
        "faiss-flat": (t_flat, lambda: flat.search(q, K)[1]),
        **{
            f"faiss-ivf (nlist {ivf.nlist}, nprobe {p})": (t_ivf, ivf_search(p))
            for p in (8, 32, 128)
        },
        "scikit-learn brute cosine": (
            t_sk,
            lambda: torch.from_numpy(sk.kneighbors(q.numpy(), K, return_distance=False)),
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    found: dict[str, torch.Tensor] = {}
    for _ in range(rounds):
        for name, (_, search) in contenders.items():
            found[name], t = timed(search)
            times[name].append(t)
            print(f"  {name}: {t:.2f} s", flush=True)
    exact = found["exact torch (selfsup)"]
    print("\n| search | build s | search s (each round) | build + best search s "
          "| recall@20 vs exact |")  # fmt: skip
    print("|---|---|---|---|---|")
    for name, (t_build, _) in contenders.items():
        each = " / ".join(f"{t:.2f}" for t in times[name])
        print(f"| {name} | {t_build:.2f} | {each} | {t_build + min(times[name]):.2f} "
              f"| {recall(found[name], exact):.3f} |")  # fmt: skip


def cifar_features(root: str, cache_dir: Path | None) -> dict[str, tuple[Features, Features]]:
    """Random-init resnet_tiny (32 px) and raw-pixel features: train split, val split."""
    from selfsup.backbones import create_backbone
    from selfsup.data.eval_images import image_dataset_from_spec

    torch.manual_seed(0)
    backbone = create_backbone("resnet_tiny").eval()

    def encode(x: torch.Tensor) -> torch.Tensor:
        return backbone.forward_features((x.float() / 255 - CIFAR_MEAN) / CIFAR_STD)

    out: dict[str, list[Features]] = {"resnet_tiny (random init)": [], "raw pixels": []}
    for split in ("train", "val"):
        data = image_dataset_from_spec(f"{root}@{split}", 32, 0.1)
        key = f"bench-index-resnet_tiny-seed0-{split}"
        feats, t = timed(extract_features, encode, data, 512, "cpu", cache_dir, key)
        print(f"{split}: {len(feats):,} images, resnet_tiny features in {t:.0f} s", flush=True)
        out["resnet_tiny (random init)"].append(feats)
        pixels = data.images.flatten(1).float()
        out["raw pixels"].append(Features(pixels, data.labels))
    return {name: (f[0], f[1]) for name, f in out.items()}


def cifar(root: str, cache_dir: Path | None) -> None:
    sets = cifar_features(root, cache_dir)
    print(f"\n### IVF recall on CIFAR-10 features, k={K}\n")
    print("| features | bank x queries x dim | search | nprobe | build s | search s "
          "| recall@20 vs exact | kNN top-1 (k 20) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, (train, test) in sets.items():
        shape = f"{len(train):,} x {len(test):,} x {train.dim}"
        (_, exact), t_exact = timed(knn_neighbors, train.features, test.features, K)
        top1 = knn_evaluate(train, test, k=K).top1
        print(f"| {name} | {shape} | exact torch | - | 0 | {t_exact:.2f} | 1.000 "
              f"| {100 * top1:.2f}% |", flush=True)  # fmt: skip
        index, t_build = built("faiss-ivf", train.features)
        for nprobe in (1, 4, 8, 16, 32, 64):
            index.nprobe = nprobe
            (_, idx), t_search = timed(index.search, test.features, K)
            top1 = knn_evaluate(train, test, k=K, index=index).top1
            print(f"| {name} | {shape} | faiss-ivf (nlist {index.nlist}) | {nprobe} "
                  f"| {t_build:.2f} | {t_search:.2f} | {recall(idx, exact):.3f} "
                  f"| {100 * top1:.2f}% |", flush=True)  # fmt: skip


def million_chunks(seed: int, rows: int, centers: torch.Tensor) -> Iterator[torch.Tensor]:
    """Clustered rows (1,000 Gaussian blobs), generated ``CHUNK`` at a time, same every run."""
    for c, r0 in enumerate(range(0, rows, CHUNK)):
        g = torch.Generator().manual_seed(seed * 10_000 + c)
        n = min(CHUNK, rows - r0)
        labels = torch.randint(0, len(centers), (n,), generator=g)
        yield centers[labels] + torch.randn(n, centers.shape[1], generator=g)


def million_child(kind: str, queries: int, rows: int) -> None:
    """One index over the 1M bank, in this process: prints a JSON line of times and peak RSS."""
    centers = torch.randn(1000, MILLION_DIM, generator=torch.Generator().manual_seed(1))
    q = torch.cat(list(million_chunks(2, queries, centers)))
    base_mb = rss_mib("VmRSS")
    index = create_index(kind, MILLION_DIM, rows, IndexOptions(kind))
    t0 = time.perf_counter()
    if kind == "faiss-ivf":  # a training sample from the first chunks, then dropped
        need = 40 * index.nlist
        sample = torch.cat(
            [
                c
                for _, c in zip(
                    range(-(-need // CHUNK)), million_chunks(0, rows, centers), strict=False
                )
            ]
        )
        index.train(sample)
        del sample
    for chunk in million_chunks(0, rows, centers):
        index.add(chunk)
    t_build = time.perf_counter() - t0
    (_, idx), t_search = timed(index.search, q, K)
    peak_mb = rss_mib("VmHWM")
    sub = q[:1000]
    truth = streamed_truth(sub, centers, rows)
    print(json.dumps({"index": index.describe(), "build_s": t_build, "search_s": t_search,
                      "base_mb": base_mb, "peak_mb": peak_mb,
                      "recall": recall(idx[:1000], truth)}))  # fmt: skip


def streamed_truth(q: torch.Tensor, centers: torch.Tensor, rows: int) -> torch.Tensor:
    """Exact top-k of ``q`` over the regenerated bank, one chunk at a time (for recall)."""
    best_sim = torch.full((len(q), K), -torch.inf)
    best_idx = torch.zeros(len(q), K, dtype=torch.long)
    for c, chunk in enumerate(million_chunks(0, rows, centers)):
        sim, idx = exact_topk([chunk], q, min(K, len(chunk)))
        cand_sim, cand_idx = (
            torch.cat([best_sim, sim], 1),
            torch.cat([best_idx, idx + c * CHUNK], 1),
        )
        best_sim, pos = cand_sim.topk(K, dim=1)
        best_idx = cand_idx.gather(1, pos)
    return best_idx


def million(queries: int, rows: int) -> None:
    print(f"\n### {rows:,} x {MILLION_DIM} bank (clustered), {queries:,} queries, k={K}, "
          f"added in chunks of {CHUNK:,}; one process per index\n")  # fmt: skip
    index_mb = rows * MILLION_DIM * 4 / 2**20
    print(f"The vectors alone: {index_mb:.0f} MiB; all bank x query similarities at once "
          f"would be {rows * queries * 4 / 2**30:.0f} GiB.\n")  # fmt: skip
    print("| search | build s | search s | RSS before the bank MiB | peak RSS MiB "
          "| peak - before MiB | recall@20 vs exact (1,000 queries) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for kind in ("exact", "faiss-flat", "faiss-ivf"):
        cmd = [sys.executable, __file__, "--million-child", kind, "--queries", str(queries),
               "--rows", str(rows)]  # fmt: skip
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {r['index']} | {r['build_s']:.1f} | {r['search_s']:.1f} | {r['base_mb']:.0f} "
              f"| {r['peak_mb']:.0f} | {r['peak_mb'] - r['base_mb']:.0f} | {r['recall']:.3f} |",
              flush=True)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--parts", default="speed,cifar,million")
    p.add_argument("--bank", type=int, default=50_000)
    p.add_argument("--queries", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--rounds", type=int, default=2, help="speed rounds")
    p.add_argument("--cifar", default="../shared/data/cifar10/train")
    p.add_argument("--cache-dir", type=Path, default=None, help="cache CIFAR features here")
    p.add_argument("--rows", type=int, default=1_000_000, help="bank of the chunked run")
    p.add_argument("--million-child", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.million_child:
        million_child(a.million_child, a.queries, a.rows)
        return
    parts = a.parts.split(",")
    if "speed" in parts:
        speed(a.bank, a.queries, a.dim, a.rounds)
    if "cifar" in parts:
        if Path(a.cifar).is_dir():
            cifar(a.cifar, a.cache_dir)
        else:
            print(f"\n(no CIFAR-10 at {a.cifar}: recall part skipped)")
    if "million" in parts:
        million(a.queries, a.rows)


if __name__ == "__main__":
    main()
