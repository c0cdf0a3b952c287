"""What a ``selfsup`` sub-command is: a name, a help line, its arguments and what it runs.

Every command module defines one ``COMMAND``; :mod:`selfsup.cli` lists the modules in
``COMMAND_MODULES``. Command modules import only argparse-level code at the top, so building the
parser stays fast; the work's imports happen inside ``run``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One sub-command of ``selfsup``."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]

    def register(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add this command's parser to ``sub``; the parsed namespace carries ``run``."""
        parser = sub.add_parser(self.name, help=self.help, description=self.help)
        self.add_arguments(parser)
        parser.set_defaults(run=self.run)
