"""Get a trained encoder out of selfsup: export folders (safetensors, ONNX, TorchScript, and
upstream torchvision / timm weights) and ``load_backbone`` for one's own code.

See docs/export.md for the folder's files and the fields of ``selfsup-encoder.json``.
"""

from selfsup.export.encoder import PretrainedEncoder
from selfsup.export.info import FORMATS, EncoderInfo
from selfsup.export.load import load_backbone
from selfsup.export.write import ExportResult, export_backbone, export_checkpoint

__all__ = [
    "FORMATS",
    "EncoderInfo",
    "ExportResult",
    "PretrainedEncoder",
    "export_backbone",
    "export_checkpoint",
    "load_backbone",
]
