"""Audio encoders export to ONNX with dynamic batch and sample axes, reload from safetensors,
and refuse TorchScript (a trace would fix one clip length) in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from selfsup.backbones import create_backbone
from selfsup.export.encoder import PretrainedEncoder
from selfsup.export.info import describe_backbone
from selfsup.export.write import export_backbone
from selfsup.nn.audio_padding import pad_clips
from selfsup.registry import ConfigError

TINY_AUDIO = {
    "wav2vec2_tiny": {"conv_dim": 16, "dim": 16, "depth": 1, "heads": 2, "pos_conv_kernel": 4},
    "audio_vit_tiny": {"dim": 16, "depth": 1, "heads": 2, "n_mels": 16, "patch_size": 8},
}


def _tiny(name: str) -> tuple[torch.nn.Module, object]:
    torch.manual_seed(0)
    kwargs = {"sample_rate": 8000, **TINY_AUDIO[name]}
    backbone = create_backbone(name, **kwargs).eval()
    return backbone, describe_backbone(backbone, name, kwargs)


@pytest.mark.parametrize("name", list(TINY_AUDIO))
def test_onnx_follows_any_batch_and_clip_length(name: str, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    backbone, info = _tiny(name)
    result = export_backbone(backbone, info, tmp_path, "onnx")  # type: ignore[arg-type]
    assert result.checks["onnx"] is not None and result.checks["onnx"] < 1e-4
    session = ort.InferenceSession(
        str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"]
    )
    g = torch.Generator().manual_seed(3)
    lengths = ([9000], [450, 3000, 6100], [400, 401])
    for batch in lengths:
        x = pad_clips([torch.randn(n, generator=g) for n in batch])
        with torch.no_grad():
            ref = backbone.forward_features(x).numpy()
        (got,) = session.run(None, {"input": x.numpy()})
        assert np.abs(got - ref).max() < 1e-4
    written = json.loads((tmp_path / "selfsup-encoder.json").read_text())
    assert written["onnx"]["dynamic_axes"]["input"] == {"0": "batch", "1": "samples"}
    assert written["input"]["sample_rate"] == 8000
    assert written["input"]["min_samples"] == backbone.min_samples


def test_safetensors_reload_and_raw_clips_embed(tmp_path: Path) -> None:
    backbone, info = _tiny("wav2vec2_tiny")
    result = export_backbone(backbone, info, tmp_path, "safetensors")  # type: ignore[arg-type]
    assert result.checks["reload"] == 0.0
    encoder = PretrainedEncoder(backbone, result.info)  # type: ignore[arg-type]
    clips = [np.random.default_rng(0).standard_normal(3000), torch.randn(1200)]
    feats = encoder.embed(clips)
    assert feats.shape == (2, backbone.feature_dim)
    torch.testing.assert_close(encoder.embed(torch.as_tensor(clips[0]))[0], feats[0])


def test_torchscript_is_refused_in_one_line(tmp_path: Path) -> None:
    backbone, info = _tiny("audio_vit_tiny")
    with pytest.raises(ConfigError, match="onnx or safetensors"):
        export_backbone(backbone, info, tmp_path, "torchscript")  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())
