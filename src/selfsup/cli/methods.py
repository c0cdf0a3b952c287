"""``selfsup methods``: every registered method, what it is, and which backbones it takes."""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from selfsup.cli.command import Command


def method_rows() -> list[tuple[str, str, str]]:
    """``(name, summary, takes)`` for every registered method, sorted by name."""
    import selfsup.backbones
    import selfsup.methods  # noqa: F401  (registers)
    from selfsup.methods.registry import METHODS

    return [(name, method_summary(name), method_takes(name)) for name in METHODS.names()]


def method_summary(name: str) -> str:
    """The first sentence of the method's module docstring, which names the paper ("MoCo v2
    (Chen et al., 2020b): ..."), when that module holds this method alone; else of its
    class docstring."""
    from selfsup.cli.listing import first_sentence
    from selfsup.methods.registry import METHODS

    cls = METHODS.get(name)
    module = inspect.getmodule(cls)
    alone = [n for n in METHODS.names() if inspect.getmodule(METHODS.get(n)) is module] == [name]
    doc = module.__doc__ if module is not None and alone and module.__doc__ else cls.__doc__
    return first_sentence(doc)


def method_takes(name: str) -> str:
    """Its modality, whether it needs tokens, the backbones it takes (``resnet*, vit_*``) and
    any trained run it loads, e.g. ``image, with tokens: vit_*`` or ``image or audio: ...``."""
    from selfsup.methods.base import method_modalities
    from selfsup.methods.registry import METHODS, backbones_taken, loaded_args

    cls: Any = METHODS.get(name)
    kind = " or ".join(method_modalities(cls))
    if getattr(cls, "requires_tokens", False):
        kind += ", with tokens"
    takes = f"{kind}: {', '.join(backbones_taken(name)) or 'no registered backbone'}"
    loads = [f"method.{a.key} (a {a.method} run)" for a in loaded_args(name)]
    return takes + ("; needs " + ", ".join(loads) if loads else "")


def run(args: argparse.Namespace) -> int:
    """Print the method registry."""
    from selfsup.cli.listing import print_table

    print_table("selfsup methods", ("name", "method", "takes"), method_rows())
    return 0


COMMAND = Command(
    "methods", "list registered methods and the backbones each takes", lambda p: None, run
)
