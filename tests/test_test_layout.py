"""Test modules outside packages share one import namespace: their basenames must be unique.

pytest imports ``tests/a/test_x.py`` and ``tests/b/test_x.py`` both as ``test_x`` unless the
folder is a package; a fresh checkout then stops at collection.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_module_names_do_not_clash() -> None:
    seen: dict[str, list[Path]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        if not (path.parent / "__init__.py").exists():
            seen[path.name].append(path.relative_to(TESTS))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, f"test modules with one name in non-package folders: {clashes}"
