"""``run.json``: what produced a run (config, package versions, git commit, machine)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

PACKAGES = (
    "selfsup",
    "torch",
    "torchvision",
    "timm",
    "lightning",
    "kornia",
    "numpy",
    "scikit-learn",
)


def git_commit() -> str | None:
    """The commit of the selfsup checkout in use (None when not installed from git)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """CPU, accelerator and thread facts that explain a run's speed."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "python": sys.version.split()[0],
    }
    if torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape results."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_run_json(run_dir: Path, config: dict[str, Any], extra: dict[str, Any]) -> Path:
    """Write ``run.json`` in ``run_dir`` and return its path."""
    payload = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "versions": versions(),
        "git_commit": git_commit(),
        "machine": machine_info(),
        **extra,
    }
    path = run_dir / "run.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def update_run_json(run_dir: Path, extra: dict[str, Any]) -> None:
    """Add (or replace) top-level keys of an existing ``run.json`` (written atomically)."""
    path = run_dir / "run.json"
    payload = json.loads(path.read_text()) if path.exists() else {}
    payload.update(extra)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    tmp.replace(path)
