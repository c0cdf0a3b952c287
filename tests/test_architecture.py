"""Imports run one way: each package imports only packages in layers below its own.

The layers, top to bottom, are written down in docs/architecture.md. Every ``import`` counts,
including those inside functions (a lazy import is still a dependency) and type-only ones.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "selfsup"

# Top to bottom; a package may import its own modules and any package of a lower layer.
LAYERS: list[set[str]] = [
    {"cli"},
    {"export"},
    {"engine"},
    {"report", "visualize"},
    {"methods"},
    {"eval"},
    {"modalities"},
    {"losses", "backbones", "augment", "data"},
    {"nn", "config"},
    {"schedules", "registry", "files"},
]
LAYER_OF = {pkg: depth for depth, layer in enumerate(LAYERS) for pkg in layer}


def package_of(path: Path) -> str:
    """``selfsup/<pkg>/...`` or ``selfsup/<module>.py`` -> its top-level name ('' for __init__)."""
    part = path.relative_to(SRC).parts[0]
    return "" if part == "__init__.py" else part.removesuffix(".py")


def imported_packages(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level selfsup package) for every import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "selfsup":  # from selfsup import X
                names = [f"selfsup.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "selfsup" and len(parts) > 1:
                yield node.lineno, parts[1]


def upward_imports() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        pkg = package_of(path)
        if pkg == "":
            continue  # the package's own __init__ may re-export anything
        assert pkg in LAYER_OF, f"{pkg} has no layer: add it to LAYERS and docs/architecture.md"
        for line, target in imported_packages(path):
            if target != pkg and LAYER_OF.get(target, -1) <= LAYER_OF[pkg]:
                where = path.relative_to(SRC.parent)
                found.append(f"{where}:{line} ({pkg}) imports selfsup.{target}")
    return found


def test_imports_run_one_way() -> None:
    assert upward_imports() == []


def test_the_check_sees_a_wrong_way_import(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    from selfsup.engine.load import load_method\n")
    assert list(imported_packages(bad)) == [(2, "engine")]
    assert LAYER_OF["engine"] < LAYER_OF["methods"]  # so methods -> engine is flagged


@pytest.mark.parametrize("doc", ["docs/architecture.md"])
def test_layers_are_documented(doc: str) -> None:
    text = (SRC.parents[1] / doc).read_text()
    for pkg in LAYER_OF:
        assert f"`{pkg}`" in text, f"{doc} does not place `{pkg}`"
