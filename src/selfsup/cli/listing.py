"""Registry tables shared by ``selfsup methods`` and ``selfsup backbones``: one row per
registered name, each with the first full sentence of its docstring in plain text."""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence

# Abbreviations whose full stop ends no sentence ("e.g. a ViT", "Chen et al. showed").
_ABBREVIATIONS = ("e.g", "i.e", "et al", "etc", "vs", "cf")


def plain(text: str) -> str:
    """``text`` without RST inline markup: ``x`` -> x, :class:`y` -> y, :func:`~a.b` -> b,
    `z` -> z."""
    text = re.sub(r":[a-z]+:`~?([^`]*?)`", lambda m: _last_part(m[1]), text)
    text = re.sub(r"``(.*?)``", r"\1", text)
    return re.sub(r"`([^`]*)`", r"\1", text)


def _last_part(target: str) -> str:
    """What Sphinx shows of a role's target: ``a.b.c`` -> ``c`` (the ``~`` form), as is else."""
    return target.rsplit(".", 1)[-1] if "." in target and " " not in target else target


def first_sentence(doc: str | None) -> str:
    """The first full sentence of a docstring's first paragraph, in plain text on one line
    (the whole paragraph when no full stop ends a sentence in it)."""
    paragraph = inspect.cleandoc(doc or "").split("\n\n", 1)[0]
    text = " ".join(plain(paragraph).split())
    for end in re.finditer(r"[.!?](?=\s|$)", text):
        if not text[: end.start()].endswith(_ABBREVIATIONS):
            return text[: end.end()]
    return text


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table with one row per entry; the first column (the name) never wraps."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, header in enumerate(headers):
        table.add_column(header, style="bold" if i == 0 else None, no_wrap=i == 0)
    for row in rows:
        table.add_row(*row)
    Console().print(table)
