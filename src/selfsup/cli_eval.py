"""``selfsup eval knn|linear --checkpoint ... --train ... --test ...``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from selfsup.registry import ConfigError

PROTOCOLS = ("knn", "linear")


def add_eval_parser(sub: Any, fn: Callable[[argparse.Namespace], int]) -> None:
    """Register the ``eval`` sub-command."""
    p = sub.add_parser("eval", help="evaluate a checkpoint's frozen features")
    p.add_argument("protocol", choices=PROTOCOLS)
    p.add_argument("--checkpoint", required=True, help="a .ckpt file or a run directory")
    p.add_argument(
        "--train",
        required=True,
        help="labeled train data: digits:train, a class-folder PATH, PATH@train, or shards",
    )
    p.add_argument("--test", required=True, help="labeled test data, same forms (e.g. PATH@val)")
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="for PATH@train / PATH@val: the last fraction of each class is 'val'",
    )
    p.add_argument("--size", type=int, default=None, help="decode images to SIZE x SIZE")
    p.add_argument("--k", type=int, default=200, help="kNN neighbours")
    p.add_argument("--temperature", type=float, default=0.1, help="kNN vote temperature")
    p.add_argument("--epochs", type=int, default=100, help="linear-probe epochs")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None, help="write results here (default: next to the run)")
    p.set_defaults(fn=fn)


def dataset_from_spec(spec: str, size: int | None, val_fraction: float) -> Any:
    """``digits:train|test``, a folder ``PATH[@split]``, or tar shards (.tar, glob, or dir)."""
    from selfsup.data.sources import build_dataset

    if spec.startswith("digits:"):
        split = spec.split(":", 1)[1]
        return build_dataset("digits", split="val" if split == "test" else split)
    path, _, split = spec.partition("@")
    p = Path(path)
    if path.endswith(".tar") or "*" in path or (p.is_dir() and any(p.glob("*.tar"))):
        return build_dataset("shards", split="all", path=path, size=size)
    if not p.exists():
        raise ConfigError(f"data not found: {path}")
    return build_dataset(
        "folder",
        split=split or "all",
        path=path,
        size=size,
        val_fraction=val_fraction if split else 0.0,
    )


def run_eval(args: argparse.Namespace) -> int:
    """Run one protocol, print a table, write JSON."""
    from selfsup.engine.load import load_method, resolve_checkpoint
    from selfsup.eval.protocols import extract_splits, knn_protocol, linear_protocol

    ckpt = resolve_checkpoint(args.checkpoint)
    method, _ = load_method(ckpt, map_location=args.device)
    train = dataset_from_spec(args.train, args.size, args.val_fraction)
    test = dataset_from_spec(args.test, args.size, args.val_fraction)
    method = method.to(args.device)
    splits = extract_splits(
        method.embed, train, test, batch_size=args.batch_size, device=args.device
    )
    if args.protocol == "knn":
        result: dict[str, Any] = knn_protocol(splits, k=args.k, temperature=args.temperature)
    else:
        result = linear_protocol(splits, epochs=args.epochs)
    result.update(
        checkpoint=str(ckpt),
        train=args.train,
        test=args.test,
        train_size=len(splits.train.labels),
        test_size=len(splits.test.labels),
    )
    out = Path(args.json) if args.json else ckpt.parent.parent / f"eval-{args.protocol}.json"
    out.write_text(json.dumps(result, indent=2))
    table = Table(title=f"{args.protocol} evaluation of {ckpt.name}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        shown = f"{100 * value:.2f}%" if key.endswith("top1") else str(value)
        table.add_row(key, shown)
    Console().print(table)
    print(f"results: {out}")
    return 0
