"""One shape for every protocol's output: a printed two-column table and a JSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

PERCENT_SUFFIXES = ("top1", "accuracy", "_mean", "recall@1", "recall@5", "recall@10", "map", "gain")
# Few-shot mean and std of accuracies; recall and truncated mAP at any depth.
PERCENT_PREFIXES = ("linear_", "knn_", "recall@", "map@")


def format_value(key: str, value: Any) -> str:
    """Fractions of accuracy-like metrics as percentages, other floats to 4 significant digits."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if math.isfinite(value) and (
        key.endswith(PERCENT_SUFFIXES) or key.startswith(PERCENT_PREFIXES)
    ):
        return f"{100 * value:.2f}%"
    return f"{value:.4g}"


def print_results(title: str, result: Mapping[str, Any], console: Console | None = None) -> None:
    """Print the scalar entries of ``result`` as a metric/value table (nested ones are skipped)."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if not isinstance(value, Mapping | list | tuple):
            table.add_row(key, format_value(key, value))
    (console or Console()).print(table)


def write_results(result: Mapping[str, Any], path: Path) -> Path:
    """Write ``result`` as indented JSON (creating the folder); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(result), indent=2))
    return path


def default_results_path(checkpoint: Path, protocol: str) -> Path:
    """``<run dir>/eval/<protocol>.json`` for a checkpoint in ``<run dir>/checkpoints/``."""
    run_dir = (
        checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
    )
    return run_dir / "eval" / f"{protocol}.json"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf
    return value
