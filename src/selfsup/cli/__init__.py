"""``selfsup`` command line: pretrain, resume, eval, embed, export, report, visualize, generate,
quickstart, shards, cluster, and registry listings.

A command is a module here with one ``COMMAND`` (:class:`selfsup.cli.command.Command`); adding a
command is one module plus its name in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence

from selfsup.cli.command import Command
from selfsup.cli.logs import configure_logging
from selfsup.engine.quiet import quiet_lightning
from selfsup.registry import ConfigError, RunError

# When the command started: a ``train.max_minutes`` budget counts the command's start-up too.
LAUNCHED_AT = time.monotonic()

COMMAND_MODULES = (
    "pretrain",
    "resume",
    "eval",
    "embed",
    "report",
    "visualize",
    "generate",
    "export",
    "quickstart",
    "shards",
    "cluster",
    "methods",
    "backbones",
)


def commands() -> list[Command]:
    """Every sub-command, in the order ``selfsup --help`` lists them."""
    return [importlib.import_module(f"selfsup.cli.{name}").COMMAND for name in COMMAND_MODULES]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("selfsup")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``selfsup`` command."""
    parser = argparse.ArgumentParser(
        prog="selfsup",
        description="Self-supervised representation learning: pretrain, resume, evaluate, "
        "embed, export, report, visualize, generate, quickstart, make tar shards, cluster "
        "audio frames, and list what is registered.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"selfsup {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in commands():
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; config problems print one line and exit with code 2, a run that had to
    stop prints one line and exits with code 1."""
    args = build_parser().parse_args(argv)
    args.started_at = LAUNCHED_AT if argv is None else time.monotonic()
    configure_logging(args.verbose)
    try:
        with quiet_lightning():
            return int(args.run(args))
    except ConfigError as e:
        print(f"selfsup: error: {e}", file=sys.stderr)
        return 2
    except RunError as e:
        print(f"selfsup: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("selfsup: interrupted", file=sys.stderr)
        return 130


__all__ = ["build_parser", "main"]
