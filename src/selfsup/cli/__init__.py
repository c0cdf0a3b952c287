"""``selfsup`` command line: pretrain, resume, eval, report, visualize, generate, quickstart,
shards, and registry listings.

A command is a module here with one ``COMMAND`` (:class:`selfsup.cli.command.Command`); adding a
command is one module plus its name in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from selfsup.cli.command import Command
from selfsup.cli.logs import configure_logging
from selfsup.registry import ConfigError, RunError

COMMAND_MODULES = (
    "pretrain",
    "resume",
    "eval",
    "report",
    "visualize",
    "generate",
    "quickstart",
    "shards",
    "methods",
    "backbones",
)


def commands() -> list[Command]:
    """Every sub-command, in the order ``selfsup --help`` lists them."""
    return [importlib.import_module(f"selfsup.cli.{name}").COMMAND for name in COMMAND_MODULES]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``selfsup`` command."""
    parser = argparse.ArgumentParser(
        prog="selfsup",
        description="Self-supervised representation learning: pretrain, resume, evaluate, "
        "report, visualize, generate, quickstart, make tar shards, and list what is registered.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in commands():
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; config problems print one line and exit with code 2, a run that had to
    stop prints one line and exits with code 1."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
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
