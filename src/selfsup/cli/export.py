"""``selfsup export --checkpoint RUN --format safetensors|onnx|torchscript [--out DIR]``: the
trained backbone alone, with what is needed to feed it, for use outside selfsup."""

from __future__ import annotations

import argparse

from selfsup.cli.command import Command

FORMATS = ("safetensors", "onnx", "torchscript")  # selfsup.export.FORMATS, kept import-free


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("--checkpoint", required=True, help="a run directory or a .ckpt file")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="safetensors",
        help="safetensors weights (every export has them); onnx or torchscript add that file",
    )
    p.add_argument("--out", default=None, help="output folder (default: RUN/export/FORMAT)")


def run_export(args: argparse.Namespace) -> int:
    """CLI entry: write the export folder, then print its files and each check's figure."""
    from selfsup.export.write import TOLERANCE, export_checkpoint

    result = export_checkpoint(args.checkpoint, args.format, args.out)
    info = result.info
    what = f"{info.backbone} ({info.modality}, {info.feature_dim} features)"
    print(f"exported {what} to {result.folder}")
    for role, name in info.files.items():
        print(f"  {name:<24} {role}")
    print("  selfsup-encoder.json     what the encoder needs (docs/export.md)")
    if info.upstream is not None and not info.upstream.get("file"):
        print(f"  no upstream weights: {info.upstream.get('reason')}")
    for check, diff in result.checks.items():
        shown = "not checked (onnxruntime not installed)" if diff is None else f"{diff:.2g}"
        print(f"check {check}: max |diff| vs PyTorch {shown} (tolerance {TOLERANCE:g})")
    return 0


COMMAND = Command(
    "export",
    "export a trained backbone (safetensors, ONNX, TorchScript)",
    add_arguments,
    run_export,
)
