"""``load_backbone(path)``: a trained encoder from a run directory, a checkpoint or an export
folder, in eval mode with its preprocessing.

Everything read is untrusted: checkpoints are read weights-only, export folders are JSON,
safetensors and a tokenizer's JSON; nothing is unpickled and no ONNX or TorchScript file is
loaded (those are for other runtimes).
"""

from __future__ import annotations

from pathlib import Path

import torch

from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import create_backbone
from selfsup.export.encoder import PretrainedEncoder
from selfsup.export.files import load_tensors
from selfsup.export.info import INFO_FILE, TOKENIZER_FILE, WEIGHTS_FILE, EncoderInfo
from selfsup.registry import ConfigError


def load_backbone(path: str | Path, device: str | torch.device = "cpu") -> PretrainedEncoder:
    """The encoder at ``path`` (a run directory, a ``.ckpt`` file, an export folder or its
    ``selfsup-encoder.json``) on ``device``, in eval mode.

    Heads, teachers and decoders are left behind; ``.preprocess`` and ``.embed`` apply the
    run's evaluation preprocessing. A crafted or damaged file is refused with a one-line
    :class:`~selfsup.registry.ConfigError` before anything in it runs.
    """
    p = Path(path)
    if p.is_file() and p.name == INFO_FILE:
        p = p.parent
    if p.is_dir() and (p / INFO_FILE).is_file():
        return load_export(p, device)
    return load_checkpoint_encoder(p, device)[0]


def load_checkpoint_encoder(
    path: Path, device: str | torch.device = "cpu"
) -> tuple[PretrainedEncoder, Path]:
    """The encoder of a run directory or checkpoint, and the checkpoint file it came from."""
    from selfsup.engine.load import load_method, resolve_checkpoint
    from selfsup.export.info import describe_backbone

    ckpt = resolve_checkpoint(path)
    method, cfg = load_method(ckpt)
    backbone = method.encoder()
    source = {"checkpoint": str(ckpt), "method": cfg.method.name}
    info = describe_backbone(backbone, cfg.backbone.name, cfg.backbone.args, method.augment, source)
    return PretrainedEncoder(backbone.to(device), info), ckpt


def load_export(folder: Path, device: str | torch.device = "cpu") -> PretrainedEncoder:
    """The encoder of an export folder (``selfsup export``'s output)."""
    info = EncoderInfo.read(folder)
    backbone = _build(info, folder)
    state = load_tensors(folder / WEIGHTS_FILE)
    try:
        result = backbone.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of the wrong shape
        reason = str(e).replace("\n", " ").replace("\t", "")
        raise ConfigError(
            f"{folder / WEIGHTS_FILE} does not fit {info.backbone}: {reason[:300]}"
        ) from None
    # The one key safetensors cannot hold is a text backbone's tokenizer, read from its file.
    missing = [k for k in result.missing_keys if not k.endswith("_extra_state")]
    if missing or result.unexpected_keys:
        problem = (
            f"missing {missing[:3]}" if missing else f"unexpected {result.unexpected_keys[:3]}"
        )
        raise ConfigError(f"{folder / WEIGHTS_FILE} does not fit {info.backbone}: {problem}")
    return PretrainedEncoder(backbone.to(device), info)


def _build(info: EncoderInfo, folder: Path) -> Backbone:
    """The randomly initialised backbone the JSON names (text: with the folder's tokenizer)."""
    given = {}
    if info.modality == "text":
        from selfsup.data.tokenizers import TextTokenizer

        tok_path = folder / TOKENIZER_FILE
        try:
            given["tokenizer"] = TextTokenizer.from_json(tok_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            reason = (str(e).splitlines() or [type(e).__name__])[0]
            raise ConfigError(f"cannot read tokenizer {tok_path}: {reason}") from None
    try:
        backbone = create_backbone(info.backbone, **info.backbone_kwargs, **given)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{folder / INFO_FILE}: cannot build {info.backbone}: {e}") from None
    if backbone.modality != info.modality or int(backbone.feature_dim) != info.feature_dim:
        raise ConfigError(
            f"{folder / INFO_FILE}: {info.backbone} builds a {backbone.modality} encoder of "
            f"{backbone.feature_dim} features, not the recorded {info.modality} / "
            f"{info.feature_dim}"
        )
    return backbone
