"""ONNX and TorchScript files of a backbone's pooled features, and the checks that they
reproduce it.

Both record ``forward_features`` on an example input: images ``[B, C, size, size]`` float32,
text ``[B, T]`` int64 ids, audio ``[B, T]`` float32 NaN-padded waveforms. ONNX keeps the batch
axis dynamic (and the token axis, up to the backbone's ``max_len``; audio's sample axis, from
the backbone's ``min_samples``); TorchScript is traced, and a trace follows any batch size
(but not a clip length, so audio encoders are not traced).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.export.files import atomic_path
from selfsup.nn.audio_padding import pad_clips
from selfsup.registry import ConfigError

ONNX_FILE = "encoder.onnx"
TORCHSCRIPT_FILE = "encoder.torchscript.pt"
# onnxruntime 1.18 (the oldest the export extra allows) runs opset 18 and below.
ONNX_OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "features"


class PooledFeatures(nn.Module):
    """``backbone.forward_features`` as the module's ``forward``: what the files hold."""

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_features(x)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide the exporters' progress prints and tracer / deprecation warnings."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def example_inputs(backbone: Backbone, info_input: dict[str, Any], batch: int) -> torch.Tensor:
    """A random input ``backbone`` reads: normal float images at the recorded size, or token
    ids (a few tokens, the last row half padding) for text."""
    g = torch.Generator().manual_seed(batch)
    if backbone.modality == "audio":
        rate = int(getattr(backbone, "sample_rate"))  # noqa: B009  (audio backbones have one)
        longest = max(int(getattr(backbone, "min_samples", 1)), rate // 4 + 97 * batch)
        clips = [0.1 * torch.randn(longest, generator=g) for _ in range(batch)]
        if batch > 1:
            clips[-1] = clips[-1][: longest // 2]  # the last row half padding
        return pad_clips(clips, longest)
    if backbone.modality == "text":
        tok = getattr(backbone, "tokenizer")  # noqa: B009  (text backbones always have one)
        length = max(2, min(int(info_input.get("max_len") or 12), 12 + batch))
        low = max(tok.special_ids) + 1
        ids = torch.randint(low, tok.vocab_size, (batch, length), generator=g)
        ids[-1, length // 2 :] = tok.pad_id
        return ids
    size = info_input.get("size") or _native_size(backbone)
    channels = int(info_input.get("channels") or 3)
    return torch.randn(batch, channels, size, size, generator=g)


def _native_size(backbone: Backbone) -> int:
    grid = getattr(getattr(getattr(backbone, "model", None), "patch_embed", None), "img_size", None)
    return int(grid[0]) if grid is not None else 32


def write_onnx(backbone: Backbone, example: torch.Tensor, path: Path) -> dict[str, Any]:
    """Write ``path`` (atomically) and return the JSON ``onnx`` section: opset, names and
    dynamic axes. One line (ConfigError) when the ``export`` extra is not installed."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise ConfigError(
            "ONNX export needs onnx and onnxscript: pip install 'selfsup[export]'"
        ) from None
    axes = {"0": "batch"}
    dims: dict[int, Any] = {0: torch.export.Dim("batch", min=1)}
    if example.dtype == torch.int64:
        axes["1"] = "tokens"
        dims[1] = torch.export.Dim("tokens", min=1, max=int(getattr(backbone, "max_len", 512)))
    elif backbone.modality == "audio":
        axes["1"] = "samples"
        shortest = int(getattr(backbone, "min_samples", 1))
        dims[1] = torch.export.Dim("samples", min=shortest, max=2**31 - 2)
    module = PooledFeatures(backbone).eval()
    with atomic_path(path) as tmp, _quiet(), torch.no_grad():
        program = torch.onnx.export(
            module,
            (example,),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=ONNX_OPSET,
            dynamic_shapes={"x": dims},
            dynamo=True,
        )
        if program is None:
            raise RuntimeError("torch.onnx.export returned no program")
        program.save(tmp, external_data=False)
    return {
        "file": path.name,
        "opset": ONNX_OPSET,
        "input": INPUT_NAME,
        "output": OUTPUT_NAME,
        "input_dtype": str(example.dtype).removeprefix("torch."),
        "dynamic_axes": {INPUT_NAME: axes, OUTPUT_NAME: {"0": "batch"}},
    }


def onnx_max_diff(path: Path, backbone: Backbone, inputs: list[torch.Tensor]) -> float | None:
    """Largest |onnxruntime - PyTorch| over ``inputs``; None when onnxruntime is absent."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in inputs:
        with torch.no_grad():
            ref = backbone.forward_features(x).float().numpy()
        got = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0]
        if got.shape != ref.shape:
            return float("inf")
        worst = max(worst, float(abs(got - ref).max()))
    return worst


def write_torchscript(backbone: Backbone, example: torch.Tensor, path: Path) -> None:
    """Trace ``forward_features`` on ``example`` and save it to ``path`` (atomically)."""
    module = PooledFeatures(backbone).eval()
    with atomic_path(path) as tmp, _quiet(), torch.no_grad():
        traced = torch.jit.trace(module, (example,), check_trace=False)
        traced.save(str(tmp))


def torchscript_max_diff(path: Path, backbone: Backbone, inputs: list[torch.Tensor]) -> float:
    """Largest |loaded TorchScript - PyTorch| over ``inputs`` (the file is one this process
    just wrote: TorchScript archives hold code, so never load one a user hands over)."""
    with _quiet():
        loaded = torch.jit.load(str(path), map_location="cpu")
    worst = 0.0
    with torch.no_grad():
        for x in inputs:
            got, ref = loaded(x), backbone.forward_features(x)
            if got.shape != ref.shape:
                return float("inf")
            worst = max(worst, float((got - ref).abs().max()))
    return worst
