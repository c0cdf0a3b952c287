"""``selfsup`` command line: pretrain, resume, eval, embed, export, report, visualize, generate,
quickstart, shards, cluster, and registry listings.

A command is a module here with one ``COMMAND`` (:class:`selfsup.cli.command.Command`); adding a
command is one module plus its name in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import NoReturn

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
    stop prints one line and exits with code 1. Called as the command (``argv`` None), the
    process ends as soon as the command's work is written (see :func:`_end_process`)."""
    code = _run(argv)
    if argv is None:
        _end_process(code)
    return code


def _end_process(code: int) -> NoReturn:
    """Exit without the interpreter's teardown, once everything is written.

    Tearing down torch, Lightning and their extensions module by module takes seconds after the
    work is done (tens of seconds on a loaded machine), outside any ``train.max_minutes`` budget.
    What teardown would still do that matters is done here first: non-daemon threads finish,
    exit handlers run (loggers, worker processes), logs and streams are flushed."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # e.g. a reader that closed the pipe
            stream.flush()
    os._exit(code)


def _run(argv: Sequence[str] | None) -> int:
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
