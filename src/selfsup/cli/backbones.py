"""``selfsup backbones``: every registered backbone, its modality and what it is."""

from __future__ import annotations

import argparse

from selfsup.cli.command import Command


def backbone_rows() -> list[tuple[str, str, str]]:
    """``(name, modality, summary)`` for every registered backbone, sorted by name."""
    import selfsup.backbones  # noqa: F401  (registers)
    from selfsup.backbones.registry import BACKBONES, backbone_class
    from selfsup.cli.listing import first_sentence

    rows = []
    for name in BACKBONES.names():
        try:
            built = backbone_class(name)
            kind = built.modality + (", tokens" if built.has_tokens else "")
        except TypeError:  # a plug-in factory that does not annotate its class
            kind = "?"
        rows.append((name, kind, first_sentence(BACKBONES.get(name).__doc__)))
    return rows


def run(args: argparse.Namespace) -> int:
    """Print the backbone registry."""
    from selfsup.cli.listing import print_table

    print_table("selfsup backbones", ("name", "modality", "details"), backbone_rows())
    return 0


COMMAND = Command("backbones", "list registered backbones", lambda p: None, run)
