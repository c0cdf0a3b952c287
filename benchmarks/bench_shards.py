"""Read throughput of selfsup's shard reader against the ``webdataset`` library's.

    OMP_NUM_THREADS=1 python benchmarks/bench_shards.py [--images 10000] [--repeats 3]

Takes the first ``--images`` CIFAR-10 JPEGs (an equal number per class) from
``../shared/data/cifar10/train``, writes them with ``selfsup shards make`` (shuffled, 5 MB
shards) into a temporary folder, and reads every sample back in one process and through a
DataLoader with 2 workers:

* ``tar only``: samples as bytes, no decoding (selfsup's ``read_shard``; webdataset without
  ``.decode``), i.e. the tar parsing and grouping overhead;
* ``decoded``: ``uint8 [3, 32, 32]`` tensors with labels, shuffled through a 1,000-sample
  buffer: selfsup's ``TarShardDataset``, webdataset with its own ``torchrgb8`` (PIL) decoder,
  and webdataset mapped through selfsup's ``decode_image`` (same decoder, so the difference is
  the pipeline).

Contenders alternate within each repeat, so machine noise hits all; the table gives the median
samples/s over repeats. A last line times selfsup's mid-epoch resume: from ``resume`` at half
the epoch to the first sample (the skipped half is replayed from headers, not decoded).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from selfsup.data.collate import collate
from selfsup.data.decode import decode_image
from selfsup.data.shard_make import make_shards
from selfsup.data.shard_plan import Batching
from selfsup.data.shard_tar import read_shard
from selfsup.data.shards import TarShardDataset
from selfsup.data.skips import SkipLog

CIFAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10" / "train"


def subset_folder(root: Path, images: int, out: Path) -> Path:
    """``out/<class>/`` holding symlinks to the first ``images / classes`` files of each class."""
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    per_class = images // len(classes)
    for cls in classes:
        (out / cls.name).mkdir(parents=True)
        for path in sorted(cls.iterdir())[:per_class]:
            (out / cls.name / path.name).symlink_to(path.resolve())
    return out


def wds_pipeline(urls: list[str], decode: str | None) -> Any:
    import webdataset as wds

    ds = wds.WebDataset(urls, shardshuffle=False, empty_check=False)
    if decode == "wds":
        return ds.shuffle(1000).decode("torchrgb8").to_tuple("jpg", "cls")
    if decode == "selfsup":
        return ds.shuffle(1000).map(lambda s: (decode_image(s["jpg"]), int(s["cls"])))
    return ds


def count(items: Iterable[Any]) -> int:
    return sum(1 for _ in items)


def count_loader(dataset: Any, workers: int, collate_fn: Callable[..., Any] | None) -> int:
    """Samples through a DataLoader of batch 256 with ``workers`` worker processes."""
    loader = DataLoader(dataset, batch_size=256, num_workers=workers, collate_fn=collate_fn)
    total = 0
    for batch in loader:
        first = batch["input"] if isinstance(batch, dict) else batch[0]
        total += len(first)
    return total


def contenders(shard_dir: Path) -> dict[str, Callable[[], int]]:
    urls = sorted(str(p) for p in shard_dir.glob("*.tar"))

    def ours_tar() -> int:
        skips = SkipLog("samples")
        return sum(count(read_shard(url, None, skips)) for url in urls)

    def ours(workers: int) -> Callable[[], int]:
        def run() -> int:
            ds = TarShardDataset(str(shard_dir), shuffle=True, shuffle_buffer=1000)
            return count(ds) if workers == 0 else count_loader(ds, workers, collate)

        return run

    def theirs(decode: str | None, workers: int) -> Callable[[], int]:
        def run() -> int:
            ds = wds_pipeline(urls, decode)
            if workers == 0:
                return count(ds)
            return count_loader(ds, workers, None)

        return run

    return {
        "tar only, 1 process: selfsup": ours_tar,
        "tar only, 1 process: webdataset": theirs(None, 0),
        "decoded, 1 process: selfsup": ours(0),
        "decoded, 1 process: webdataset (torchrgb8)": theirs("wds", 0),
        "decoded, 1 process: webdataset + selfsup decoder": theirs("selfsup", 0),
        "decoded, 2 workers: selfsup": ours(2),
        "decoded, 2 workers: webdataset (torchrgb8)": theirs("wds", 2),
        "decoded, 2 workers: webdataset + selfsup decoder": theirs("selfsup", 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--images", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(1)
    if not CIFAR.is_dir():
        raise SystemExit(f"{CIFAR} is absent")
    with tempfile.TemporaryDirectory() as tmp:
        folder = subset_folder(CIFAR, args.images, Path(tmp) / "images")
        made = make_shards(folder, Path(tmp) / "shards", max_bytes=5_000_000, shuffle_seed=0)
        n = made.index.samples
        print(f"{n:,} CIFAR-10 JPEGs in {len(made.index.shards)} shards; torch threads 1")
        runs = contenders(made.out_dir)
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                got = run()
                seconds = time.perf_counter() - start
                if got != n:
                    raise SystemExit(f"{name} read {got} samples, expected {n}")
                rates[name].append(n / seconds)
        print(f"| {'reader':<50} | samples/s (median of {args.repeats}) |")
        print(f"|{'-' * 52}|{'-' * 29}|")
        for name, values in rates.items():
            print(f"| {name:<50} | {statistics.median(values):>27,.0f} |")
        print(resume_line(made.out_dir, n))


def resume_line(shard_dir: Path, samples: int, batch: int = 256) -> str:
    """How long a resume at half the epoch takes to deliver its first sample."""
    ds = TarShardDataset(str(shard_dir), shuffle=True, shuffle_buffer=1000)
    ds.set_batching(Batching(batch, num_workers=0, world_size=1))
    batches = samples // 2 // batch
    start = time.perf_counter()
    ds.resume(0, batches)
    next(iter(ds))
    seconds = time.perf_counter() - start
    return (
        f"resume after {batches * batch:,} of {samples:,} samples: first sample in "
        f"{1000 * seconds:.0f} ms"
    )


if __name__ == "__main__":
    main()
