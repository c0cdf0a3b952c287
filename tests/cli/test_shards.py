"""``selfsup shards make``: size parsing, what it prints, and bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfsup.cli import main
from selfsup.cli.shards import parse_size
from selfsup.registry import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")


def write_png(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4, 3), value, dtype=np.uint8)).save(path)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("256MB", 256_000_000),
        ("1GB", 10**9),
        ("1.5gb", 1_500_000_000),
        ("512KiB", 512 * 1024),
        ("2MiB", 2 * 2**20),
        ("64k", 64_000),
        ("1000000", 1_000_000),
        ("4096B", 4096),
        (" 3 MB ", 3_000_000),
    ],
)
def test_sizes_parse(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "big", "12XB", "5iB", "-1MB", "0", "0.1B"])
def test_bad_sizes_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="--shard-size"):
        parse_size(text)


def test_make_writes_shards_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(6):
        write_png(tmp_path / "img" / ("a" if i < 3 else "b") / f"{i}.png", i)
    out = tmp_path / "shards"
    code = main(
        ["shards", "make", str(tmp_path / "img"), "--out", str(out), "--shard-size", "20KB"]
    )
    assert code == 0
    index = json.loads((out / "index.json").read_text())
    assert index["classes"] == ["a", "b"] and index["samples"] == 6
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote 6 samples (2 classes) in {len(index['shards'])} shards")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard-size", "lots"], "--shard-size 'lots' is not a size"),
        (["--prefix", "a/b"], "--prefix 'a/b' must be"),
        ([], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "missing"
    if args:
        write_png(tmp_path / "img" / "x.png", 1)
        folder = tmp_path / "img"
    code = main(["shards", "make", str(folder), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
