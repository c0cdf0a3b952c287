"""YAML presets + ``key.sub=value`` overrides -> a typed :class:`RunConfig`.

Every problem is a :class:`ConfigError` whose message is one line naming the key and, where
there is one, the closest valid name. Nothing here reads data or builds models.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path
from typing import Any

import yaml

from selfsup.config.curriculum import parse_schedule, schedule_range, scheduled_keys
from selfsup.config.image_size import link_image_size
from selfsup.config.schema import (
    ACCELERATORS,
    LOGGERS,
    NAMED_SECTIONS,
    PLAIN_SECTIONS,
    PRECISIONS,
    DataConfig,
    NamedConfig,
    RunConfig,
    TrainConfig,
)
from selfsup.registry import ConfigError, check_type, closest

SECTIONS = (*NAMED_SECTIONS, "data", *PLAIN_SECTIONS)


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``1e-3`` as a string; users mean a float."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _parse(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file or a non-mapping is a ConfigError."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        raw = _parse(p.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}: not valid YAML{where}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping of sections, got {type(raw).__name__}")
    return raw


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides; values are parsed as YAML (``1e-3``, ``[1, 2]``).
    Deeper keys set one entry of a nested mapping (``data.b.max_len=16``,
    ``method.tower_b.dim=32``), keeping its other entries; ``raw`` is left as read."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must look like section.key=value")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        if len(parts) < 2 or not all(parts):
            raise ConfigError(
                f"override key '{key}' must look like section.key (e.g. train.max_epochs) "
                "or section.key.sub (e.g. data.b.max_len)"
            )
        section = parts[0]
        if section not in SECTIONS:
            raise ConfigError(f"unknown section '{section}'{closest(section, SECTIONS)}")
        try:
            value = _parse(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        target = out.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"section '{section}' must be a mapping")
        _nested(target, parts, key.strip())[parts[-1]] = value
    return out


def _nested(section: dict[str, Any], parts: list[str], key: str) -> dict[str, Any]:
    """The mapping that ``parts[-1]`` of override ``key`` goes into, copied on the way down
    (the preset's own mappings stay as read); a missing level becomes an empty mapping."""
    target = section
    for depth, name in enumerate(parts[1:-1], start=2):
        child = target.get(name)
        if child is None:
            child = {}
        elif not isinstance(child, dict):
            where = ".".join(parts[:depth])
            raise ConfigError(
                f"override '{key}': {where} is {child!r}, not a mapping; set it whole ({where}=...)"
            )
        target[name] = child = dict(child)
        target = child
    return target


def build_config(raw: dict[str, Any]) -> RunConfig:
    """Check section and key names and value types; return the typed config."""
    for section in raw:
        if section not in SECTIONS:
            raise ConfigError(f"unknown section '{section}'{closest(str(section), SECTIONS)}")
    named: dict[str, NamedConfig] = {}
    for section in NAMED_SECTIONS:
        body = _mapping(raw, section)
        if section == "augment" and not body:
            body = {"name": "none"}  # methods that make no views (language models) need none
        if "name" not in body:
            raise ConfigError(f"missing key '{section}.name'")
        name = body.pop("name")
        if not isinstance(name, str):
            raise ConfigError(f"'{section}.name' expects a string, got {name!r}")
        named[section] = NamedConfig(name=name, args=body)
    data = _data_section(_mapping(raw, "data"))
    plain = {s: _dataclass_section(s, cls, _mapping(raw, s)) for s, cls in PLAIN_SECTIONS.items()}
    cfg = RunConfig(
        backbone=named["backbone"],
        augment=named["augment"],
        method=named["method"],
        data=data,
        optim=plain["optim"],
        train=plain["train"],
        eval=plain["eval"],
        self_paced=plain["self_paced"],
    )
    _check_values(cfg)
    return cfg


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read a preset (or start empty), apply overrides, build and check the config."""
    raw = read_yaml(path) if path is not None else {}
    merged = apply_overrides(raw, overrides or [])
    keys = {tuple(o.split("=", 1)[0].strip().split(".", 1)) for o in overrides or []}
    return build_config(link_image_size(raw, merged, keys))  # type: ignore[arg-type]


def save_config(cfg: RunConfig, path: str | Path) -> None:
    """Write the config as YAML in the same layout it is read from."""
    Path(path).write_text(yaml.safe_dump(_plain(cfg.to_dict()), sort_keys=False))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _mapping(raw: dict[str, Any], section: str) -> dict[str, Any]:
    body = raw.get(section, {})
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ConfigError(f"section '{section}' must be a mapping, got {type(body).__name__}")
    return dict(body)


def _data_section(body: dict[str, Any]) -> DataConfig:
    own = {f.name for f in dataclasses.fields(DataConfig)} - {"args"}
    fields = {k: v for k, v in body.items() if k in own}
    args = {k: v for k, v in body.items() if k not in own}
    cfg = _dataclass_section("data", DataConfig, fields)
    cfg.args = args
    return cfg


def _dataclass_section(section: str, cls: type, body: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "args"]
    for key, value in body.items():
        if key not in names:
            raise ConfigError(f"unknown key '{section}.{key}'{closest(key, names)}")
        check_type(f"{section}.{key}", value, hints[key])
        if isinstance(value, list):
            body[key] = tuple(value)
    return cls(**body)


def _check_values(cfg: RunConfig) -> None:
    """Range checks a type cannot express."""
    checks = [
        (cfg.data.batch_size >= 1, "data.batch_size must be >= 1"),
        (cfg.data.num_workers >= 0, "data.num_workers must be >= 0"),
        (cfg.optim.base_lr > 0, "optim.base_lr must be > 0"),
        (cfg.optim.weight_decay >= 0, "optim.weight_decay must be >= 0"),
        (
            cfg.optim.final_weight_decay is None or cfg.optim.final_weight_decay >= 0,
            "optim.final_weight_decay must be >= 0 (or null for a constant weight decay)",
        ),
        (
            cfg.optim.final_weight_decay is None or cfg.optim.weight_decay > 0,
            "optim.final_weight_decay needs optim.weight_decay > 0 (the groups that decay)",
        ),
        (cfg.optim.warmup_epochs >= 0, "optim.warmup_epochs must be >= 0"),
        (
            cfg.train.max_epochs >= 1 or cfg.train.max_steps >= 1,
            "set train.max_epochs or train.max_steps",
        ),
        (cfg.train.checkpoint_every_n_steps >= 1, "train.checkpoint_every_n_steps must be >= 1"),
        (cfg.train.keep_last >= 1, "train.keep_last must be >= 1"),
        (cfg.train.whiten_stem_images >= 0, "train.whiten_stem_images must be >= 0"),
        (cfg.eval.knn_k >= 1, "eval.knn_k must be >= 1"),
        (cfg.eval.knn_temperature > 0, "eval.knn_temperature must be > 0"),
        (cfg.eval.val_loss_every_n_steps >= 0, "eval.val_loss_every_n_steps must be >= 0"),
        (cfg.eval.val_loss_batches >= 1, "eval.val_loss_batches must be >= 1"),
        (0 < cfg.eval.collapse_threshold < 1, "eval.collapse_threshold must be in (0, 1)"),
        (cfg.eval.collapse_patience >= 1, "eval.collapse_patience must be >= 1"),
    ]
    for ok, message in checks + _train_checks(cfg.train):
        if not ok:
            raise ConfigError(message)
    scheduled_keys(cfg)  # a bad schedule is a config error before anything is built
    _check_self_paced(cfg)


def _check_self_paced(cfg: RunConfig) -> None:
    sp = cfg.self_paced
    if not 0.0 <= sp.momentum < 1.0:
        raise ConfigError(f"self_paced.momentum must be in [0, 1), got {sp.momentum}")
    keep = sp.keep
    if isinstance(keep, dict):
        schedule = parse_schedule("self_paced.keep", keep)
        lo, hi = schedule_range(schedule)
    else:
        lo = hi = float(keep)
    if not 0.0 < lo <= hi <= 1.0:
        raise ConfigError(f"self_paced.keep must stay in (0, 1], got {lo}..{hi}")


def _train_checks(t: TrainConfig) -> list[tuple[bool, str]]:
    """Values Lightning would otherwise reject with a traceback, after data was read."""
    return [
        (
            t.precision in PRECISIONS,
            f"train.precision '{t.precision}' is not one of {', '.join(PRECISIONS)}"
            f"{closest(t.precision, PRECISIONS)}",
        ),
        (
            t.accelerator in ACCELERATORS,
            f"train.accelerator '{t.accelerator}' is not one of {', '.join(ACCELERATORS)}"
            f"{closest(t.accelerator, ACCELERATORS)}",
        ),
        (
            _valid_devices(t.devices),
            f"train.devices must be a count >= 1, -1 (all), 'auto' or a list like '0,1'; "
            f"got {t.devices!r}",
        ),
        (t.num_nodes >= 1, "train.num_nodes must be >= 1"),
        (t.max_steps == -1 or t.max_steps >= 1, "train.max_steps must be >= 1 (or -1: no cap)"),
        (t.max_epochs >= 0, "train.max_epochs must be >= 0"),
        (
            t.max_minutes is None or t.max_minutes > 0,
            "train.max_minutes must be > 0 (or null: no time budget)",
        ),
        (t.log_every_n_steps >= 1, "train.log_every_n_steps must be >= 1"),
        (t.skip_nonfinite >= 0, "train.skip_nonfinite must be >= 0"),
        (t.dist_timeout_minutes > 0, "train.dist_timeout_minutes must be > 0"),
        *(
            (
                name in LOGGERS,
                f"train.loggers: unknown logger '{name}' (one of {', '.join(LOGGERS)})"
                f"{closest(name, LOGGERS)}",
            )
            for name in t.loggers
        ),
    ]


def _valid_devices(devices: int | str) -> bool:
    if isinstance(devices, int):
        return devices >= 1 or devices == -1
    if devices in ("auto", "-1"):
        return True
    ids = [d.strip() for d in devices.strip("[]").split(",") if d.strip()]
    return bool(ids) and all(d.isdigit() for d in ids)
