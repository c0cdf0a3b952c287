"""What an ``eval`` protocol is: its arguments, the data it needs, and a runner.

Each protocol module in this package defines one ``PROTOCOL``; ``selfsup.cli.eval`` lists the
modules in ``PROTOCOL_MODULES``. Adding a protocol is one module plus its name there.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def no_arguments(p: argparse.ArgumentParser) -> None:
    """For protocols with only the shared ``eval`` arguments."""


@dataclass(frozen=True)
class EvalProtocol:
    """One ``selfsup eval <name>`` protocol.

    ``needs`` names the data arguments (``train``, ``test``, ``data``) that must be given;
    ``needs_help`` says in words what the protocol needs when that is more than ``needs``
    (one of several options, a kind of checkpoint). ``run`` maps the context to a flat result
    dict (printed as a table and written as JSON).
    """

    name: str
    help: str
    run: Callable[[EvalContext], dict[str, Any]]
    add_arguments: Callable[[argparse.ArgumentParser], None] = no_arguments
    needs: tuple[str, ...] = ()
    needs_help: str = ""

    def requirements(self) -> str:
        """What the protocol needs besides ``--checkpoint``, e.g. ``--train and --test``."""
        if self.needs_help:
            return self.needs_help
        return " and ".join(f"--{n}" for n in self.needs) or "nothing more"
