"""Embedding a source into parts: both formats read back exactly, a stopped run resumes
without redoing finished parts, and an output folder is never mixed with another run's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from selfsup.data.collate import Item
from selfsup.data.item_sources import ItemSource, UnreadableItem
from selfsup.eval import embed_run
from selfsup.eval.embed_output import iter_embedding_parts, read_embeddings
from selfsup.eval.embed_run import EmbedOptions, embed_to_folder
from selfsup.registry import ConfigError

CKPT = {"path": "run/last.ckpt", "sha256": "a" * 64}


class ListSource(ItemSource):
    """Items ``[v, v + 1]`` from a list of values; a None value is a broken item. Records the
    highest index read so far."""

    def __init__(self, values: list[float | None], labels: bool = True) -> None:
        super().__init__()
        self.values, self.has_labels = values, labels
        self.classes = ["x", "y", "z"] if labels else []
        self.highest_read = -1

    def __len__(self) -> int:
        return len(self.values)

    def item_id(self, index: int) -> str:
        return f"item-{index}"

    def label(self, index: int) -> int:
        return index % 3 if self.has_labels else -1

    def read(self, index: int) -> Item:
        self.highest_read = max(self.highest_read, index)
        value = self.values[index]
        if value is None:
            raise UnreadableItem("broken")
        return {"input": torch.tensor([value, value + 1.0]), "label": self.label(index)}

    def describe(self) -> dict[str, Any]:
        return {"kind": "list", "path": "memory"}


def encode(x: torch.Tensor) -> torch.Tensor:
    """[B, 2] -> [B, 3]: a fixed function, so expected vectors are known."""
    return torch.stack([x[:, 0], 2 * x[:, 1], x[:, 0] ** 2], dim=1)


def values(n: int, broken: tuple[int, ...] = ()) -> list[float | None]:
    return [None if i in broken else float(i) for i in range(n)]


def options(**kw: Any) -> EmbedOptions:
    return EmbedOptions(**{"part_size": 4, "batch_size": 3, "tty": False, **kw})


@pytest.mark.parametrize("fmt", ["parquet", "npy"])
def test_parts_read_back_as_the_encoder_rows_in_source_order(tmp_path: Path, fmt: str) -> None:
    source = ListSource(values(10, broken=(5,)))
    result = embed_to_folder(encode, source, tmp_path / "out", CKPT, options(format=fmt))
    ids, vectors, labels = read_embeddings(tmp_path / "out")
    kept = [i for i in range(10) if i != 5]
    assert ids == [f"item-{i}" for i in kept]
    x = torch.tensor([[i, i + 1.0] for i in kept])
    assert vectors.dtype == np.float32 and np.array_equal(vectors, encode(x).numpy())
    assert labels is not None and labels.tolist() == [i % 3 for i in kept]
    assert (result.rows, result.items, result.parts, result.dim) == (9, 10, 3, 3)
    assert result.skipped == "skipped 1 of 10 items: 1 broken (first: item-5)"
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["format"] == "selfsup.embed/1" and manifest["complete"]
    assert [(p["start"], p["stop"], p["rows"]) for p in manifest["parts"]] == [
        (0, 4, 4),
        (4, 8, 3),
        (8, 10, 2),
    ]
    assert manifest["parts"][1]["skipped"] == {"broken": 1} and manifest["classes"] == [
        "x",
        "y",
        "z",
    ]


def test_no_labels_drops_the_label_column(tmp_path: Path) -> None:
    embed_to_folder(encode, ListSource(values(5)), tmp_path, CKPT, options(labels=False))
    assert read_embeddings(tmp_path).labels is None
    unlabelled = tmp_path / "unlabelled"
    embed_to_folder(encode, ListSource(values(5), labels=False), unlabelled, CKPT, options())
    assert read_embeddings(unlabelled).labels is None


def test_a_part_of_only_broken_items_has_no_file_and_reads_as_nothing(tmp_path: Path) -> None:
    source = ListSource(values(8, broken=(4, 5, 6, 7)))
    embed_to_folder(encode, source, tmp_path, CKPT, options(format="npy"))
    parts = json.loads((tmp_path / "manifest.json").read_text())["parts"]
    assert parts[1]["files"] == [] and parts[1]["rows"] == 0
    assert [len(p) for p in iter_embedding_parts(tmp_path)] == [4]


def test_items_are_read_part_by_part_not_all_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = ListSource(values(12))
    seen: list[tuple[int, int]] = []
    real = embed_run.write_part

    def spy(out: Path, number: int, fmt: str, rows: Any) -> list[str]:
        seen.append((number, source.highest_read))
        return real(out, number, fmt, rows)

    monkeypatch.setattr(embed_run, "write_part", spy)
    embed_to_folder(encode, source, tmp_path, CKPT, options(batch_size=4))
    # Part k is written as soon as its last item is in, before the next part is read.
    assert seen == [(0, 3), (1, 7), (2, 11)]


class Stop(Exception):
    """Stands for a kill in the middle of a run."""


def stopping_after(calls: int) -> Any:
    count = {"n": 0}

    def run(x: torch.Tensor) -> torch.Tensor:
        count["n"] += 1
        if count["n"] > calls:
            raise Stop
        return encode(x)

    return run, count


@pytest.mark.parametrize("fmt", ["parquet", "npy"])
def test_a_stopped_run_resumes_with_its_finished_parts_and_the_same_result(
    tmp_path: Path, fmt: str
) -> None:
    data = values(11, broken=(2,))
    whole = tmp_path / "whole"
    embed_to_folder(encode, ListSource(data), whole, CKPT, options(format=fmt))
    out = tmp_path / "stopped"
    first, _ = stopping_after(4)  # 2 batches per part: parts 0 and 1 finish
    with pytest.raises(Stop):
        embed_to_folder(first, ListSource(data), out, CKPT, options(format=fmt))
    with pytest.raises(ValueError, match=r"unfinished \(2 parts done"):
        read_embeddings(out)
    assert len(read_embeddings(out, partial=True).ids) == 7
    (out / "part-00002.parquet").write_bytes(b"half a file")  # a file the manifest never listed
    (out / ".manifest.json.x.tmp").write_bytes(b"{")
    second, count = stopping_after(100)
    result = embed_to_folder(second, ListSource(data), out, CKPT, options(format=fmt))
    assert count["n"] == 1 and result.kept_parts == 2 and result.read == 3  # part 2 only
    assert result.skipped == "skipped 1 of 11 items: 1 broken (first: item-2)"
    a, b = read_embeddings(whole), read_embeddings(out)
    assert a.ids == b.ids and np.array_equal(a.vectors, b.vectors)
    assert np.array_equal(a.labels, b.labels)  # type: ignore[arg-type]
    assert not list(out.glob(".*.tmp"))


def test_another_checkpoint_source_or_setting_is_refused_in_one_line(tmp_path: Path) -> None:
    embed_to_folder(encode, ListSource(values(6)), tmp_path, CKPT, options())
    other = {"path": "run/other.ckpt", "sha256": "b" * 64}
    with pytest.raises(ConfigError, match=r"another checkpoint \(run/last.ckpt, sha256 aaaa"):
        embed_to_folder(encode, ListSource(values(6)), tmp_path, other, options())
    with pytest.raises(ConfigError, match=r"another source .*items was 6, now 7"):
        embed_to_folder(encode, ListSource(values(7)), tmp_path, CKPT, options())
    with pytest.raises(ConfigError, match=r"written with --part-size 4 \(now 5\)"):
        embed_to_folder(encode, ListSource(values(6)), tmp_path, CKPT, options(part_size=5))
    with pytest.raises(ConfigError, match="written with --format parquet"):
        embed_to_folder(encode, ListSource(values(6)), tmp_path, CKPT, options(format="npy"))
    result = embed_to_folder(
        encode, ListSource(values(7)), tmp_path, other, options(format="npy", overwrite=True)
    )
    assert result.kept_parts == 0 and len(read_embeddings(tmp_path).ids) == 7
    assert not list(tmp_path.glob("*.parquet"))


def test_a_folder_with_other_files_is_not_written_into(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"not empty and holds no manifest\.json"):
        embed_to_folder(encode, ListSource(values(3)), tmp_path, CKPT, options())
    embed_to_folder(encode, ListSource(values(3)), tmp_path, CKPT, options(overwrite=True))
    assert (tmp_path / "notes.txt").read_text() == "mine"  # overwrite clears only our files


def test_bad_settings_and_encoders_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--format must be one of parquet, npy"):
        embed_to_folder(encode, ListSource(values(3)), tmp_path, CKPT, options(format="csv"))
    with pytest.raises(ValueError, match="--part-size and --batch-size must be >= 1"):
        embed_to_folder(encode, ListSource(values(3)), tmp_path, CKPT, options(part_size=0))
    with pytest.raises(ValueError, match=r"encode must return \[B, D\] for a batch of 3"):
        embed_to_folder(lambda x: x[0], ListSource(values(3)), tmp_path / "o", CKPT, options())


def test_a_file_as_out_is_refused_and_overwrite_replaces_a_broken_manifest(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file; give a folder"):
        embed_to_folder(encode, ListSource(values(3)), tmp_path / "file", CKPT, options())
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"manifest\.json is unreadable"):
        embed_to_folder(encode, ListSource(values(3)), out, CKPT, options())
    embed_to_folder(encode, ListSource(values(3)), out, CKPT, options(overwrite=True))
    assert len(read_embeddings(out).ids) == 3
