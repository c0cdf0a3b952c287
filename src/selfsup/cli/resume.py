"""``selfsup resume RUN_DIR [section.key=value ...]``: continue a run from its last checkpoint."""

from __future__ import annotations

import argparse

from selfsup.cli.command import Command
from selfsup.cli.pretrain import print_outcome


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("run_dir")
    p.add_argument("overrides", nargs="*", help="e.g. train.max_epochs=200 to train longer")


def run(args: argparse.Namespace) -> int:
    """Resume, and name the run directory and last checkpoint."""
    from selfsup.engine.run import resume_run

    started_at = getattr(args, "started_at", None)
    print_outcome(resume_run(args.run_dir, args.overrides, started_at=started_at))
    return 0


COMMAND = Command("resume", "continue a run from its last checkpoint", add_arguments, run)
