"""Write an export folder: the backbone alone, what it needs, and checks that it reproduces.

Every folder holds ``backbone.safetensors`` (what ``load_backbone`` reads), ``upstream.
safetensors`` where a torchvision ResNet or timm ViT is wrapped, ``tokenizer.json`` for text,
``encoder.onnx`` or ``encoder.torchscript.pt`` for those formats, and ``selfsup-encoder.json``,
written last so a folder with one is complete. Each file is written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from selfsup.backbones.base import Backbone
from selfsup.export import formats
from selfsup.export.files import atomic_write_text, load_tensors, save_tensors, state_tensors
from selfsup.export.info import (
    FORMATS,
    TOKENIZER_FILE,
    UPSTREAM_FILE,
    WEIGHTS_FILE,
    EncoderInfo,
)
from selfsup.export.upstream import build_upstream, upstream_recipe, upstream_state
from selfsup.registry import ConfigError, RunError

Inputs = list[torch.Tensor]
# Largest |difference| an exported file may show against the PyTorch backbone.
TOLERANCE = 1e-4


@dataclass
class ExportResult:
    """The folder written, its info, and each check's largest absolute difference from the
    PyTorch backbone (None: not checked, e.g. onnxruntime not installed)."""

    folder: Path
    info: EncoderInfo
    checks: dict[str, float | None] = field(default_factory=dict)


def default_export_dir(checkpoint: Path, fmt: str) -> Path:
    """``<run dir>/export/<format>`` for a checkpoint in ``<run dir>/checkpoints/``."""
    parent = checkpoint.parent
    run_dir = parent.parent if parent.name == "checkpoints" else parent
    return run_dir / "export" / fmt


def export_checkpoint(path: str | Path, fmt: str, out: str | Path | None = None) -> ExportResult:
    """Export the encoder of a run directory or checkpoint as ``fmt`` into ``out`` (default:
    ``<run dir>/export/<fmt>``)."""
    from selfsup.export.load import load_checkpoint_encoder

    _check_format(fmt)
    encoder, ckpt = load_checkpoint_encoder(Path(path))
    folder = Path(out) if out is not None else default_export_dir(ckpt, fmt)
    return export_backbone(encoder.backbone, encoder.info, folder, fmt)


def export_backbone(backbone: Backbone, info: EncoderInfo, folder: Path, fmt: str) -> ExportResult:
    """Write ``backbone`` (described by ``info``) as ``fmt`` into ``folder`` and check every
    file against it; RunError when a file differs by more than ``TOLERANCE``. The work runs on
    CPU in eval mode; the backbone is handed back on its device, in its mode."""
    _check_format(fmt)
    if fmt == "torchscript" and backbone.modality == "audio":
        # A trace records one clip length's frame arithmetic; ONNX keeps the length dynamic.
        raise ConfigError("audio encoders export as onnx or safetensors, not torchscript")
    first = next(backbone.parameters(), None)
    device, training = (first.device if first is not None else None), backbone.training
    try:
        return _export(backbone.cpu().eval(), info, folder, fmt)
    finally:
        backbone.train(training)
        if device is not None:
            backbone.to(device)


def _export(backbone: Backbone, info: EncoderInfo, folder: Path, fmt: str) -> ExportResult:
    info.format = fmt
    result = ExportResult(folder, info)
    meta = {"format": "pt", "selfsup_backbone": info.backbone}
    save_tensors(folder / WEIGHTS_FILE, state_tensors(backbone), meta)
    info.files = {"weights": WEIGHTS_FILE}
    tokenizer = getattr(backbone, "tokenizer", None)
    if info.modality == "text" and tokenizer is not None:
        atomic_write_text(folder / TOKENIZER_FILE, tokenizer.to_json())
        info.files["tokenizer"] = TOKENIZER_FILE
    checks = [_example(backbone, info, 3), _example(backbone, info, 1)]
    info.upstream = upstream_recipe(backbone)
    if info.upstream is not None and info.upstream.get("file"):
        save_tensors(folder / UPSTREAM_FILE, upstream_state(backbone), meta)
        info.files["upstream"] = UPSTREAM_FILE
        path = folder / UPSTREAM_FILE
        result.checks["upstream"] = _upstream_diff(backbone, info.upstream, path, checks)
    if fmt == "onnx":
        path = folder / formats.ONNX_FILE
        info.onnx = formats.write_onnx(backbone, _example(backbone, info, 2), path)
        info.files["onnx"] = formats.ONNX_FILE
        result.checks["onnx"] = formats.onnx_max_diff(path, backbone, checks)
    elif fmt == "torchscript":
        path = folder / formats.TORCHSCRIPT_FILE
        formats.write_torchscript(backbone, _example(backbone, info, 2), path)
        info.files["torchscript"] = formats.TORCHSCRIPT_FILE
        result.checks["torchscript"] = formats.torchscript_max_diff(path, backbone, checks)
    info.write(folder)
    result.checks["reload"] = _reload_diff(backbone, folder, checks)
    bad = {k: v for k, v in result.checks.items() if v is not None and not v <= TOLERANCE}
    if bad:
        worst = ", ".join(f"{k} {v:.3g}" for k, v in bad.items())
        raise RunError(f"export in {folder} does not reproduce the backbone: max |diff| {worst}")
    return result


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}")


def _example(backbone: Backbone, info: EncoderInfo, batch: int) -> torch.Tensor:
    return formats.example_inputs(backbone, info.input, batch)


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float("inf") if a.shape != b.shape else float((a - b).abs().max())


@torch.no_grad()
def _upstream_diff(backbone: Backbone, recipe: dict[str, Any], path: Path, inputs: Inputs) -> float:
    """Build the upstream class by the recipe, load the file strictly, compare outputs."""
    model = build_upstream(recipe)
    model.load_state_dict(load_tensors(path))
    model.eval()
    return max(_max_diff(model(x), backbone.forward_features(x)) for x in inputs)


@torch.no_grad()
def _reload_diff(backbone: Backbone, folder: Path, inputs: Inputs) -> float:
    """Read the folder back as ``load_backbone`` does and compare its features."""
    from selfsup.export.load import load_export

    reloaded = load_export(folder)
    return max(_max_diff(reloaded(x), backbone.forward_features(x)) for x in inputs)
