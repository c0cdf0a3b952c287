"""``selfsup-encoder.json``: what a user needs to rebuild an exported encoder and feed it.

The file is plain JSON, read without trusting it: every field is checked on load, and the
backbone it names must be a registered one whose factory accepts the recorded keywords.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import BACKBONES
from selfsup.registry import ConfigError

INFO_FILE = "selfsup-encoder.json"
WEIGHTS_FILE = "backbone.safetensors"
UPSTREAM_FILE = "upstream.safetensors"
TOKENIZER_FILE = "tokenizer.json"
FORMATS = ("safetensors", "onnx", "torchscript")
# Keywords the engine supplies from the data, not the config: they travel as files.
SUPPLIED_KWARGS = ("tokenizer",)
_JSON_KIND = {str: "a string", dict: "an object", int: "an integer"}


@dataclass
class EncoderInfo:
    """The contents of ``selfsup-encoder.json`` (see docs/export.md for every field).

    ``input`` says what the backbone's ``forward`` takes after preprocessing (images: ``size``,
    ``channels``, ``mean``, ``std``; text: ``max_len``); ``text`` names the tokenizer file;
    ``upstream`` says how ``upstream.safetensors`` loads into torchvision or timm; ``files``
    maps a role (``weights``, ``onnx``, ...) to a file name in the export folder.
    """

    backbone: str
    backbone_kwargs: dict[str, Any]
    feature_dim: int
    modality: str
    input: dict[str, Any]
    format: str = "safetensors"
    selfsup_version: str = ""
    patch_size: int | None = None
    text: dict[str, Any] | None = None
    upstream: dict[str, Any] | None = None
    onnx: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    def write(self, folder: Path) -> Path:
        """Write ``folder/selfsup-encoder.json`` atomically; returns its path."""
        from selfsup.export.files import atomic_write_text

        return atomic_write_text(folder / INFO_FILE, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> EncoderInfo:
        """The checked contents of ``folder/selfsup-encoder.json``; one-line errors."""
        path = folder / INFO_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            reason = (str(e).splitlines() or [type(e).__name__])[0]
            raise ConfigError(f"cannot read {path}: {reason}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: object, where: str) -> EncoderInfo:
        """Check a parsed JSON object field by field; ConfigError naming ``where`` otherwise."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        missing = [n for n in ("backbone", "backbone_kwargs", "feature_dim", "modality", "input")]
        missing = [n for n in missing if n not in data]
        if unknown or missing:
            problem = f"unknown fields {unknown}" if unknown else f"missing fields {missing}"
            raise ConfigError(f"{where}: {problem}; is it a selfsup export?")
        expect = {
            "backbone": str,
            "backbone_kwargs": dict,
            "feature_dim": int,
            "modality": str,
            "input": dict,
            "format": str,
            "selfsup_version": str,
            "files": dict,
            "source": dict,
        }
        for key, kind in expect.items():
            if key in data and not isinstance(data[key], kind):
                raise ConfigError(f"{where}: '{key}' must be {_JSON_KIND[kind]}")
        for key in ("text", "upstream", "onnx"):
            if data.get(key) is not None and not isinstance(data[key], dict):
                raise ConfigError(f"{where}: '{key}' must be an object or null")
        if not all(isinstance(v, str) for v in data.get("files", {}).values()):
            raise ConfigError(f"{where}: 'files' must map names to file names")
        BACKBONES.validate(data["backbone"], data["backbone_kwargs"], "backbone", SUPPLIED_KWARGS)
        return cls(**data)


def full_backbone_kwargs(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Every keyword of backbone ``name``'s factory: ``given`` ones, defaults for the rest
    (minus those supplied from data, like the tokenizer). Tuples become lists, as in JSON."""
    params = BACKBONES.params(name, SUPPLIED_KWARGS)
    out = {k: p.default for k, p in params.items() if not p.required}
    out.update({k: v for k, v in given.items() if k not in SUPPLIED_KWARGS})
    return json.loads(json.dumps(out))


def describe_backbone(
    backbone: Backbone,
    name: str,
    kwargs: dict[str, Any],
    augment: object = None,
    source: dict[str, Any] | None = None,
) -> EncoderInfo:
    """The :class:`EncoderInfo` of ``backbone`` (built as ``name`` with ``kwargs``); images take
    their size, mean and std from ``augment``'s evaluation view when it has one."""
    import selfsup
    from selfsup.export.preprocess import image_eval_settings

    info = EncoderInfo(
        backbone=name,
        backbone_kwargs=full_backbone_kwargs(name, kwargs),
        feature_dim=int(backbone.feature_dim),
        modality=backbone.modality,
        input={},
        selfsup_version=selfsup.__version__,
        source=dict(source or {}),
    )
    patch = getattr(backbone, "patch_size", None)
    info.patch_size = int(patch) if isinstance(patch, int) else None
    tokenizer = getattr(backbone, "tokenizer", None)
    if backbone.modality == "text" and tokenizer is not None:
        max_len = int(getattr(backbone, "max_len", 0))
        info.input = {"dtype": "int64", "shape": ["batch", "tokens"], "max_len": max_len}
        info.text = {
            "tokenizer": TOKENIZER_FILE,
            "kind": getattr(tokenizer, "kind", "unknown"),
            "vocab_size": int(tokenizer.vocab_size),
            "max_len": max_len,
            "pad_id": int(tokenizer.pad_id),
            "cls_id": getattr(tokenizer, "cls_id", None),
            "sep_id": getattr(tokenizer, "sep_id", None),
            "layout": "[CLS] tokens [SEP], then [PAD] to the batch's longest row",
        }
    elif backbone.modality == "audio":
        info.input = {
            "dtype": "float32",
            "shape": ["batch", "samples"],
            "sample_rate": int(getattr(backbone, "sample_rate")),  # noqa: B009
            "min_samples": int(getattr(backbone, "min_samples", 1)),
            "padding": "mono waveforms; shorter clips padded at the end with NaN",
        }
    elif backbone.modality == "image":
        channels = int(getattr(backbone, "in_chans", 3))
        settings = image_eval_settings(augment)
        side = settings["size"] or "side"
        info.input = {
            "dtype": "float32",
            "shape": ["batch", channels, side, side],
            "channels": channels,
            **settings,
        }
    return info
