"""TorchScript files, loaded back, give the backbone's features for other batch sizes."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from export_helpers import TINY, tiny_backbone
from selfsup.export.write import export_backbone


@pytest.mark.parametrize("name", list(TINY))
def test_a_loaded_trace_matches_the_backbone(name: str, tmp_path: Path) -> None:
    backbone, info = tiny_backbone(name)
    result = export_backbone(backbone, info, tmp_path, "torchscript")
    with warnings.catch_warnings():  # torch.jit.load is deprecated in recent torch
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(tmp_path / "encoder.torchscript.pt"))
    g = torch.Generator().manual_seed(2)
    if name.startswith("text"):
        tok = backbone.tokenizer
        x = torch.randint(max(tok.special_ids) + 1, tok.vocab_size, (5, 10), generator=g)
        x[2, 4:] = tok.pad_id
    else:
        x = torch.randn(5, 3, 16, 16, generator=g)
    with torch.no_grad():
        assert torch.allclose(loaded(x), backbone.forward_features(x), atol=1e-5)
    assert result.checks["torchscript"] is not None and result.checks["torchscript"] < 1e-5
