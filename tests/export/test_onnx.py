"""ONNX files reproduce the PyTorch backbone under onnxruntime within 1e-4, for any batch size
(and, for text, any length up to max_len)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from export_helpers import TINY, tiny_backbone
from selfsup.export.write import export_backbone

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def _inputs(name: str, backbone: torch.nn.Module) -> list[torch.Tensor]:
    """Batches of 1, 4 and 7 (text: lengths 3, 9 and 16, with padded rows)."""
    g = torch.Generator().manual_seed(1)
    if not name.startswith("text"):
        return [torch.randn(b, 3, 16, 16, generator=g) for b in (1, 4, 7)]
    tok = backbone.tokenizer
    out = []
    for b, t in ((1, 3), (4, 9), (7, 16)):
        ids = torch.randint(max(tok.special_ids) + 1, tok.vocab_size, (b, t), generator=g)
        ids[-1, t // 2 :] = tok.pad_id
        out.append(ids)
    return out


@pytest.mark.parametrize("name", list(TINY))
def test_onnxruntime_matches_pytorch(name: str, tmp_path: Path) -> None:
    backbone, info = tiny_backbone(name)
    result = export_backbone(backbone, info, tmp_path, "onnx")
    path = str(tmp_path / "encoder.onnx")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in _inputs(name, backbone):
        with torch.no_grad():
            ref = backbone.forward_features(x).numpy()
        (got,) = session.run(None, {"input": x.numpy()})
        assert got.shape == ref.shape == (x.shape[0], backbone.feature_dim)
        worst = max(worst, float(np.abs(got - ref).max()))
    assert worst < 1e-4
    assert result.checks["onnx"] is not None and result.checks["onnx"] < 1e-4
    written = json.loads((tmp_path / "selfsup-encoder.json").read_text())
    assert written["format"] == "onnx" and written["files"]["onnx"] == "encoder.onnx"
    assert written["onnx"]["dynamic_axes"]["input"]["0"] == "batch"
    assert ("1" in written["onnx"]["dynamic_axes"]["input"]) == name.startswith("text")


def test_the_opset_is_one_onnxruntime_runs(tmp_path: Path) -> None:
    import onnx

    backbone, info = tiny_backbone("resnet_tiny")
    export_backbone(backbone, info, tmp_path, "onnx")
    model = onnx.load(str(tmp_path / "encoder.onnx"))
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    assert opset == json.loads((tmp_path / "selfsup-encoder.json").read_text())["onnx"]["opset"]
    assert opset <= 18  # the oldest onnxruntime the export extra allows (1.18) runs 18
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and not dims[0].dim_value  # a named, not fixed, batch axis
