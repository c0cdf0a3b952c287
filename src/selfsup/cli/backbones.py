"""``selfsup backbones``: every registered backbone with a one-line summary."""

from __future__ import annotations

import argparse

from selfsup.cli.command import Command


def run(args: argparse.Namespace) -> int:
    """Print the backbone registry."""
    import selfsup.backbones  # noqa: F401  (registers)
    from selfsup.backbones.registry import BACKBONES
    from selfsup.cli.listing import print_registry

    print_registry(BACKBONES)
    return 0


COMMAND = Command("backbones", "list registered backbones", lambda p: None, run)
