"""``selfsup methods`` / ``selfsup backbones``: registry tables."""

from __future__ import annotations

import inspect
from typing import Any

from rich.console import Console
from rich.table import Table

from selfsup.registry import Registry


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.splitlines()[0] if doc else ""


def print_registry(kind: str) -> None:
    """Print every registered method or backbone with its modality and a one-line summary."""
    import selfsup.backbones
    import selfsup.methods  # noqa: F401  (registers)
    from selfsup.backbones.registry import BACKBONES
    from selfsup.methods.registry import METHODS

    registries: dict[str, Registry[Any]] = {"method": METHODS, "backbone": BACKBONES}
    registry = registries[kind]
    table = Table(title=f"selfsup {kind}s")
    table.add_column("name", style="bold")
    table.add_column("details")
    for name in registry.names():
        factory = registry.get(name)
        table.add_row(name, _summary(factory))
    Console().print(table)
