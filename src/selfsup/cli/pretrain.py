"""``selfsup pretrain CONFIG [section.key=value ...]``: pretrain an encoder from a YAML preset."""

from __future__ import annotations

import argparse
from typing import Any

from selfsup.cli.command import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("config", help="YAML preset, e.g. configs/simclr-cifar10.yaml")
    p.add_argument(
        "overrides", nargs="*", help="section.key=value overrides (nested: data.b.max_len=16)"
    )
    p.add_argument("--run-dir", default=None, help="write here instead of train.output_dir/<name>")


def run(args: argparse.Namespace) -> int:
    """Load the config, train, and name the run directory and last checkpoint."""
    from selfsup.config.load import load_config

    cfg = load_config(args.config, args.overrides)  # config errors answer before torch loads
    from selfsup.engine.run import pretrain

    print_outcome(pretrain(cfg, run_dir=args.run_dir, started_at=getattr(args, "started_at", None)))
    return 0


def print_outcome(result: Any) -> None:
    """The run directory and last checkpoint of a :class:`PretrainResult` (rank 0 only)."""
    if result.is_global_zero:
        print(f"run directory: {result.run_dir}")
        print(f"last checkpoint: {result.last_checkpoint}")


COMMAND = Command("pretrain", "pretrain an encoder from a YAML config", add_arguments, run)
