"""The training DataModule tells a shard stream how it is batched and hands it its resume
point, or says why it cannot."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from selfsup.data.collate import collate
from selfsup.data.shard_writer import write_shards
from selfsup.data.shards import TarShardDataset
from selfsup.engine.datamodule import SSLDataModule


def stream(root: Path) -> TarShardDataset:
    write_shards([(b"x", "png", 0)] * 12, root, samples_per_shard=4)
    return TarShardDataset(str(root), shuffle=True)


STATE = {"epoch": 2, "batches": 3, "world_size": 1, "num_workers": 2, "batch_size": 2}


def test_a_stream_gets_its_batching_and_its_resume_point(tmp_path: Path) -> None:
    dataset = stream(tmp_path)
    module = SSLDataModule(dataset, batch_size=2, num_workers=2, seed=0, collate_fn=collate)
    assert module.batches_per_epoch(1) == 6  # 2 workers x 6 samples: 3 batches each
    assert module.batches_per_epoch(2) == 2  # 4 consumers x 3 samples: 1 batch each, 2 a rank
    module.train_dataloader()
    assert dataset.placeholders and dataset._resume is None
    module.load_state_dict(STATE)
    module.train_dataloader()
    assert dataset.epoch == 2 and dataset._resume is not None
    assert sum(dataset._resume.consumed) == 3 * 2


def test_a_changed_split_restarts_the_epoch_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = stream(tmp_path)
    module = SSLDataModule(dataset, batch_size=2, num_workers=0, seed=0, collate_fn=collate)
    module.load_state_dict(STATE)
    with caplog.at_level(logging.WARNING, logger="selfsup.engine"):
        module.train_dataloader()
    assert dataset.epoch == 2 and dataset._resume is None
    assert [r.getMessage() for r in caplog.records] == [
        "resumed epoch 2 starts its data stream again (num_workers 2 -> 0)"
    ]


def test_an_epoch_end_state_starts_the_next_epoch(tmp_path: Path) -> None:
    dataset = stream(tmp_path)
    module = SSLDataModule(dataset, batch_size=2, num_workers=2, seed=0, collate_fn=collate)
    module.load_state_dict({**STATE, "batches": 6})  # 2 workers x 3 batches: all of epoch 2
    module.train_dataloader()
    assert dataset.epoch == 3 and dataset._resume is None
