"""``selfsup methods``: every registered method with a one-line summary."""

from __future__ import annotations

import argparse

from selfsup.cli.command import Command


def run(args: argparse.Namespace) -> int:
    """Print the method registry."""
    import selfsup.methods  # noqa: F401  (registers)
    from selfsup.cli.listing import print_registry
    from selfsup.methods.registry import METHODS

    print_registry(METHODS)
    return 0


COMMAND = Command("methods", "list registered methods", lambda p: None, run)
