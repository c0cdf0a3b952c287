"""Batched shard streams: every rank delivers the same number of batches per epoch, and a
resumed DataLoader delivers exactly the batches an uninterrupted one would have delivered next,
across ranks x workers, with bad samples."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import BinaryIO

import pytest
from torch.utils.data import DataLoader

from distributed_helpers import require_gloo, run_ranks
from selfsup.data import shard_tar
from selfsup.data.collate import collate
from selfsup.data.shard_index import shard_sample_counts
from selfsup.data.shard_plan import Batching, delivered_batches, owned_samples
from selfsup.data.shard_writer import write_shards
from selfsup.data.shards import TarShardDataset

from .helpers import solid_png, truncated_jpeg

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")

SIZES = [9, 4, 13, 7, 11, 6, 5]  # 55 samples in 7 uneven shards
BAD = {17, 40}  # ids stored as truncated JPEGs: placeholders keep their places
BATCH = 3


def make_shards(root: Path, sizes: list[int] = SIZES) -> list[int]:
    """Shards whose samples are identified by their red value (100 + id); ids in BAD are bad."""
    next_id = 0
    for shard, size in enumerate(sizes):
        items = []
        for i in range(next_id, next_id + size):
            data, ext = (truncated_jpeg(), "jpg") if i in BAD else (solid_png(100 + i), "png")
            items.append((data, ext, i % 3))
        write_shards(items, root, samples_per_shard=size, prefix=f"part{shard}")
        next_id += size
    return [i for i in range(next_id) if i not in BAD]


def dataset(
    root: Path, rank: int | None, world: int | None, workers: int | None = None
) -> TarShardDataset:
    """The shards at ``root`` in epoch 2; batched as the engine does when ``workers`` is given."""
    ds = TarShardDataset(
        str(root), shuffle=True, seed=5, rank=rank, world_size=world, shuffle_buffer=4
    )
    if workers is not None:
        ds.set_batching(Batching(BATCH, workers, world or 1))
    ds.set_epoch(2)
    return ds


def batches(ds: TarShardDataset, workers: int, stop: int | None = None) -> list[list[int]]:
    """Ids per batch as the engine's DataLoader delivers them (``stop``: break after that many)."""
    loader = DataLoader(
        ds, batch_size=BATCH, num_workers=workers, collate_fn=collate, drop_last=True
    )
    out = []
    for batch in itertools.islice(loader, stop):
        out.append([int(red) - 100 for red in batch["input"][:, 0, 0, 0].tolist()])
    return out


def test_owned_counts_and_round_robin_match_the_dataloader(tmp_path: Path) -> None:
    make_shards(tmp_path)
    for world, workers in ((1, 1), (2, 2), (3, 2)):
        consumers = world * workers
        for rank in range(world):
            ds = dataset(tmp_path, rank, world)
            ds.placeholders = True  # bad samples keep their places in the batches
            counts = shard_sample_counts(ds.shard_order())
            per_shard = [counts[p] for p in ds.shard_order()]
            owned = [
                owned_samples(per_shard, rank * workers + w, consumers) for w in range(workers)
            ]
            got = batches(ds, workers=0 if workers == 1 else workers)
            assert len(got) == sum(n // BATCH for n in owned), (world, rank)
            done, next_worker = delivered_batches([n // BATCH for n in owned], len(got))
            assert done == [n // BATCH for n in owned] and 0 <= next_worker < workers


def test_delivered_batches_follows_the_workers_turns() -> None:
    assert delivered_batches([3, 1, 2], 0) == ([0, 0, 0], 0)
    assert delivered_batches([3, 1, 2], 2) == ([1, 1, 0], 2)
    assert delivered_batches([3, 1, 2], 4) == ([2, 1, 1], 1)  # worker 1 is spent: 2 is next
    assert delivered_batches([3, 1, 2], 5) == ([2, 1, 2], 0)
    assert delivered_batches([3, 1, 2], 6) == ([3, 1, 2], 1)
    assert delivered_batches([3, 1, 2], 99) == ([3, 1, 2], 1)  # past the end: all spent
    assert owned_samples([5, 1, 3], 0, 2) == 5 + 2 and owned_samples([5, 1, 3], 1, 2) == 1 + 1


@pytest.mark.parametrize(("world", "workers"), [(2, 2), (3, 0), (1, 2)])
def test_batched_ranks_deliver_equal_epochs(tmp_path: Path, world: int, workers: int) -> None:
    make_shards(tmp_path)
    for epoch in (0, 2):
        lengths, seen = [], []
        for rank in range(world):
            ds = dataset(tmp_path, rank, world, workers)
            ds.set_epoch(epoch)
            got = batches(ds, workers)
            lengths.append(len(got))
            seen += [i for batch in got for i in batch]
            assert len(got) == ds.batches_per_epoch()
        assert len(set(lengths)) == 1 and len(seen) == len(set(seen)), (epoch, lengths)
    fixed = TarShardDataset(str(tmp_path), shuffle=True, seed=5, rank=0, world_size=world)
    fixed.set_batching(Batching(BATCH, workers, world, epochs=6))
    lengths = []
    for epoch in range(6):
        fixed.set_epoch(epoch)
        lengths.append(len(batches(fixed, workers)))
    assert lengths == [fixed.batches_per_epoch()] * 6  # one length for a run of 6 epochs


@pytest.mark.parametrize("workers", [0, 2])
def test_every_resume_point_continues_the_uninterrupted_stream(
    tmp_path: Path, workers: int
) -> None:
    ids = make_shards(tmp_path)
    every: list[list[int]] = []
    for rank in range(2):
        straight = batches(dataset(tmp_path, rank, 2, workers), workers)
        every += straight
        n = len(straight)
        for k in range(n + 1) if workers == 0 else sorted({0, 1, 2, 3, n // 2, n - 1, n}):
            killed = batches(dataset(tmp_path, rank, 2, workers), workers, stop=k)
            resumed = dataset(tmp_path, rank, 2, workers)
            more = resumed.resume(2, k)
            assert more == (k < len(straight))
            assert killed + batches(resumed, workers) == straight, (rank, k)
    seen = [i for batch in every for i in batch]
    assert len(seen) == len(set(seen)) and set(seen) <= set(ids)  # drop_last loses a tail only
    assert any(len(batch) < BATCH for batch in every)  # a bad sample kept its place


def test_replay_reads_headers_not_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_shards(tmp_path)
    straight = batches(dataset(tmp_path, None, None, workers=0), workers=0)
    reads = []
    real = shard_tar._read_exact

    def counting_read(file: BinaryIO, size: int) -> bytes:
        reads.append(size)
        return real(file, size)

    monkeypatch.setattr(shard_tar, "_read_exact", counting_read)
    resumed = dataset(tmp_path, None, None, workers=0)
    resumed.resume(2, 10)
    assert batches(resumed, workers=0) == straight[10:]
    # Two members per sample; the 10 batches replayed (minus what the buffer held) are unread.
    assert len(reads) <= 2 * (55 - 10 * BATCH + 4)


def test_resume_needs_batching(tmp_path: Path) -> None:
    make_shards(tmp_path)
    ds = TarShardDataset(str(tmp_path))
    with pytest.raises(ValueError, match="resume needs set_batching"):
        ds.resume(0, 1)
    with pytest.raises(ValueError, match="batching for 2 ranks, dataset of 3"):
        TarShardDataset(str(tmp_path), rank=0, world_size=3).set_batching(Batching(3, 0, 2))


def test_two_gloo_ranks_resume_mid_epoch(tmp_path: Path) -> None:
    require_gloo()
    ids = make_shards(tmp_path / "shards")

    def body(rank: int) -> dict[str, list[list[int]]]:
        def batched() -> TarShardDataset:  # rank and world from the process group
            ds = TarShardDataset(str(tmp_path / "shards"), shuffle=True, seed=5, shuffle_buffer=4)
            ds.set_batching(Batching(BATCH, 2, 2))
            ds.set_epoch(2)
            return ds

        straight = batches(batched(), workers=2)
        killed = batches(batched(), workers=2, stop=3)
        resumed = batched()
        resumed.resume(2, 3)
        return {"straight": straight, "interrupted": killed + batches(resumed, workers=2)}

    results = run_ranks(body, tmp_path, world=2, timeout_s=120)
    assert len(results[0]["straight"]) == len(results[1]["straight"])  # DDP needs equal steps
    for result in results:
        assert result["interrupted"] == result["straight"]
    per_rank = [{i for b in r["straight"] for i in b} for r in results]
    assert not per_rank[0] & per_rank[1] and per_rank[0] | per_rank[1] <= set(ids)


def test_every_sample_carries_its_index_in_the_whole_set(tmp_path: Path) -> None:
    ids = make_shards(tmp_path)
    ds = dataset(tmp_path, 0, 1, workers=0)
    loader = DataLoader(ds, batch_size=BATCH, collate_fn=collate, drop_last=True)
    seen: list[int] = []
    for batch in loader:
        red = [int(r) - 100 for r in batch["input"][:, 0, 0, 0].tolist()]
        assert batch["index"].tolist() == red  # shards numbered in order, samples in place
        seen += red
    assert len(set(seen)) == len(seen) and set(seen) <= set(ids)
