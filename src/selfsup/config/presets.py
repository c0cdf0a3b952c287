"""Where the YAML presets in ``configs/`` are, for commands that start from one by name."""

from __future__ import annotations

from pathlib import Path

from selfsup.registry import ConfigError, closest

# src/selfsup/config/presets.py -> the project root, which holds configs/ (source and editable
# installs, the way the README installs selfsup).
CONFIG_DIR = Path(__file__).resolve().parents[3] / "configs"


def preset_names() -> list[str]:
    """Names of the presets (file stems of ``configs/*.yaml``), sorted."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """The YAML file of preset ``name`` (ConfigError naming the closest one if absent)."""
    path = CONFIG_DIR / f"{name}.yaml"
    if not path.is_file():
        if not CONFIG_DIR.is_dir():
            raise ConfigError(
                f"preset '{name}' needs the configs/ folder beside src/ "
                "(install from a checkout: pip install -e .)"
            )
        raise ConfigError(f"unknown preset '{name}'{closest(name, preset_names())}")
    return path
