"""``selfsup shards make FOLDER --out DIR --shard-size 256MB``: an image folder -> tar shards.

The shards are what ``data.source: shards`` streams (see docs/shards.md): ``shard-000000.tar``
... with ``<key>.jpg|png`` and ``<key>.cls`` per sample, and ``index.json`` naming the classes,
shards and sample counts.
"""

from __future__ import annotations

import argparse
import re

from selfsup.cli.command import Command
from selfsup.registry import ConfigError

_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes in ``"256MB"``, ``"1.5GB"``, ``"512KiB"`` or ``"1000000"`` (KB/MB/GB/TB are powers
    of 1000, KiB/MiB/GiB/TiB of 1024); ConfigError unless it is a positive size."""
    match = _SIZE.match(text)
    if match is None or (match.group(3) and not match.group(2)):
        raise ConfigError(
            f"--shard-size '{text}' is not a size; write e.g. 256MB, 1GB, 512MiB or a byte count"
        )
    number, prefix, binary = float(match.group(1)), match.group(2).lower(), match.group(3)
    scale = 1024 ** "bkmgt".index(prefix) if binary else _UNITS[prefix]
    size = int(number * scale)
    if size < 1:
        raise ConfigError(f"--shard-size must be at least 1 byte, got '{text}'")
    return size


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments: one action, ``make``."""
    actions = p.add_subparsers(dest="action", required=True)
    make = actions.add_parser(
        "make",
        help="write an image folder (class subfolders give labels) as tar shards",
        description="Write the images under FOLDER as tar shards of about --shard-size each, "
        "plus DIR/index.json; unreadable images are skipped and counted.",
    )
    make.add_argument("folder", help="an image folder; its class subfolders give the labels")
    make.add_argument("--out", required=True, help="folder to write the shards into")
    make.add_argument(
        "--shard-size",
        default="256MB",
        help="largest shard file: 256MB, 1GB, 512MiB or bytes (default: 256MB)",
    )
    make.add_argument(
        "--shuffle-seed",
        type=int,
        default=None,
        help="shuffle samples across shards with this seed (default: folder order, by class)",
    )
    make.add_argument("--prefix", default="shard", help="shard file names (default: shard)")


def run_shards(args: argparse.Namespace) -> int:
    """Make the shards and print what was written."""
    from selfsup.data.shard_make import make_shards

    size = parse_size(args.shard_size)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.prefix):
        raise ConfigError(f"--prefix '{args.prefix}' must be letters, digits, '.', '_' or '-'")
    try:
        made = make_shards(args.folder, args.out, size, args.shuffle_seed, prefix=args.prefix)
    except (ValueError, FileNotFoundError, NotADirectoryError) as e:
        raise ConfigError(str(e).splitlines()[0]) from None
    except OSError as e:
        raise ConfigError(f"cannot write shards to {args.out}: {e.strerror or e}") from None
    index = made.index
    labels = f"{len(index.classes)} classes" if index.classes else "unlabelled"
    print(
        f"wrote {index.samples:,} samples ({labels}) in {len(index.shards)} shards of up to "
        f"{args.shard_size} to {made.out_dir}; index: {made.out_dir / 'index.json'}"
    )
    return 0


COMMAND = Command(
    "shards",
    "write an image folder as WebDataset-style tar shards (shards make)",
    add_arguments,
    run_shards,
)
