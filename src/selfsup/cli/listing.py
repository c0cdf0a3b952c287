"""Registry tables shared by ``selfsup methods`` and ``selfsup backbones``."""

from __future__ import annotations

import inspect
from typing import Any

from selfsup.registry import Registry


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.splitlines()[0] if doc else ""


def print_registry(registry: Registry[Any]) -> None:
    """Print every entry of ``registry`` with the first line of its docstring."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"selfsup {registry.kind}s")
    table.add_column("name", style="bold")
    table.add_column("details")
    for name in registry.names():
        table.add_row(name, _summary(registry.get(name)))
    Console().print(table)
