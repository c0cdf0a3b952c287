"""The tar header parser agrees with :mod:`tarfile` on every name format, and damage ends a
shard early with one count instead of an exception."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from selfsup.data.shard_tar import count_samples, member_data, read_shard, tar_members
from selfsup.data.skips import SkipLog

LONG_DIR = "d" * 120  # over ustar's 100-byte name field


def write_tar(path: Path, names: list[str], fmt: int) -> None:
    with tarfile.open(path, "w", format=fmt) as tar:
        folder = tarfile.TarInfo("somedir")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        link = tarfile.TarInfo("somelink")
        link.type, link.linkname = tarfile.SYMTYPE, "somedir"
        tar.addfile(link)
        for i, name in enumerate(names):
            data = f"member {i}".encode() * (i + 1)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize(
    ("fmt", "folder"),
    [
        (tarfile.USTAR_FORMAT, "a/" * 40),  # a long path split into ustar's prefix field
        (tarfile.GNU_FORMAT, LONG_DIR + "/"),  # GNU ././@LongLink members
        (tarfile.PAX_FORMAT, LONG_DIR + "/é"),  # pax "path" records (also for non-ASCII)
    ],
    ids=["ustar", "gnu", "pax"],
)
def test_members_match_tarfile(tmp_path: Path, fmt: int, folder: str) -> None:
    path = tmp_path / "x.tar"
    write_tar(path, [f"{folder}{i:03d}.png" for i in range(3)] + ["short.cls"], fmt)
    with tarfile.open(path) as tar:
        expected = [(m.name, m.offset_data, m.size) for m in tar if m.isfile()]
    with open(path, "rb") as file:
        assert list(tar_members(file)) == expected
    assert count_samples(str(path)) == 4


def test_a_cut_shard_yields_what_came_before_and_counts_once(tmp_path: Path) -> None:
    path = tmp_path / "cut.tar"
    write_tar(path, [f"{i}.png" for i in range(4)], tarfile.USTAR_FORMAT)
    with tarfile.open(path) as tar:
        third = tar.getmember("2.png")
    path.write_bytes(path.read_bytes()[: third.offset_data + 3])  # inside the third's data
    skips = SkipLog("samples")
    got = list(read_shard(str(path), None, skips))
    assert [s.key for s in got] == ["0", "1"] and got[1].image == b"member 1" * 2
    assert skips.counts == {"unreadable shard": 1}
    assert count_samples(str(path)) == 3  # the third's header is whole


def test_damaged_headers_and_non_tars_are_unreadable_shards(tmp_path: Path) -> None:
    path = tmp_path / "bad.tar"
    write_tar(path, ["0.png", "1.png", "2.png"], tarfile.USTAR_FORMAT)
    data = bytearray(path.read_bytes())
    with tarfile.open(path) as tar:
        third = tar.getmember("2.png")
    data[third.offset + 10] ^= 0xFF  # a name byte: the checksum no longer matches
    path.write_bytes(bytes(data))
    skips = SkipLog("samples")
    # "1" may lack members that came after the damage (its label), so it is dropped too.
    assert [s.key for s in read_shard(str(path), None, skips)] == ["0"]
    assert skips.counts == {"unreadable shard": 1} and "checksum" in skips.examples[0]
    (tmp_path / "text.tar").write_bytes(b"hello " * 200)
    skips = SkipLog("samples")
    assert list(read_shard(str(tmp_path / "text.tar"), None, skips)) == []
    assert skips.counts == {"unreadable shard": 1}


def test_lazy_samples_point_at_their_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x.tar"
    write_tar(path, ["a.png", "a.cls", "b.png"], tarfile.USTAR_FORMAT)
    eager = list(read_shard(str(path), None, SkipLog()))
    lazy = list(read_shard(str(path), None, SkipLog(), lazy=lambda: True))
    assert [s.key for s in lazy] == ["a", "b"] and not isinstance(lazy[0].image, bytes)
    for one, other in zip(eager, lazy, strict=True):
        assert one.image is not None and other.image is not None
        assert member_data(other.image) == one.image
    assert lazy[0].label_text is not None and member_data(lazy[0].label_text) == b"member 1" * 2
