"""What a run directory holds, read leniently: anything missing becomes a note, never an error."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Series = list[tuple[int, float]]


@dataclass
class RunData:
    """The parts of a run directory the report shows."""

    run_dir: Path
    info: dict[str, Any] = field(default_factory=dict)  # run.json
    config: dict[str, Any] = field(default_factory=dict)  # config.yaml
    metrics: dict[str, Series] = field(default_factory=dict)  # column -> [(step, value)]
    evals: dict[str, dict[str, Any]] = field(default_factory=dict)  # protocol -> results
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_run(run_dir: str | Path) -> RunData:
    """Read run.json, config.yaml, every csv/part-N/metrics.csv, eval JSONs and figures/*.png."""
    run = RunData(Path(run_dir))
    if not run.run_dir.is_dir():
        raise ValueError(f"run directory not found: {run.run_dir}")
    run.info = _read_json(run.run_dir / "run.json", run.notes) or {}
    run.config = _read_yaml(run.run_dir / "config.yaml", run.notes) or run.info.get("config", {})
    parts = sorted(
        (run.run_dir / "csv").glob("part-*/metrics.csv"), key=lambda p: _part_no(p.parent.name)
    )
    if not parts:
        run.notes.append("no csv/part-*/metrics.csv: training curves skipped")
    for path in parts:
        _read_metrics(path, run.metrics, run.notes)
    # `selfsup eval --out` writes eval/<protocol>.json; older runs hold eval-<protocol>.json.
    for path in [
        *sorted(run.run_dir.glob("eval-*.json")),
        *sorted(run.run_dir.glob("eval/*.json")),
    ]:
        data = _read_json(path, run.notes)
        if isinstance(data, dict):
            run.evals[path.stem.removeprefix("eval-")] = data
    run.figures = sorted((run.run_dir / "figures").glob("*.png"))
    return run


def _part_no(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _read_json(path: Path, notes: list[str]) -> Any:
    if not path.exists():
        notes.append(f"{path.name} not found")
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        notes.append(f"{path.name} unreadable ({type(e).__name__}): skipped")
        return None


def _read_yaml(path: Path, notes: list[str]) -> dict[str, Any] | None:
    if not path.exists():
        notes.append("config.yaml not found: using the config stored in run.json")
        return None
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        notes.append("config.yaml unreadable: using the config stored in run.json")
        return None
    return data if isinstance(data, dict) else None


def _read_metrics(path: Path, out: dict[str, Series], notes: list[str]) -> None:
    """Append every numeric cell to its column's series, keyed by the row's ``step``."""
    bad = 0
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            step = _number(row.get("step"))
            if step is None:
                bad += 1
                continue
            for key, cell in row.items():
                value = _number(cell)
                if key and key != "step" and value is not None:
                    out.setdefault(key, []).append((int(step), value))
    if bad:
        notes.append(f"{path.parent.name}/metrics.csv: {bad} rows without a step skipped")


def _number(cell: str | None) -> float | None:
    try:
        value = float(cell) if cell not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None
