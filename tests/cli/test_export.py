"""``selfsup export``: each format's folder from a run, its printed checks, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from run_helpers import tiny_digits_simclr
from selfsup.cli import main
from selfsup.cli.export import FORMATS as CLI_FORMATS
from selfsup.config.load import load_config
from selfsup.engine.checkpoint import latest_checkpoint
from selfsup.engine.run import pretrain
from selfsup.export import FORMATS


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = load_config(None, [*tiny_digits_simclr(), "train.max_steps=1"])
    return pretrain(cfg, run_dir=tmp_path_factory.mktemp("run") / "digits").run_dir


def test_the_command_offers_every_format() -> None:
    assert CLI_FORMATS == FORMATS


@pytest.mark.parametrize(
    ("fmt", "extra"),
    [("safetensors", None), ("onnx", "encoder.onnx"), ("torchscript", "encoder.torchscript.pt")],
)
def test_each_format_writes_its_folder(
    fmt: str, extra: str | None, run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if fmt == "onnx":
        pytest.importorskip("onnxscript")
    assert main(["export", "--checkpoint", str(run_dir), "--format", fmt]) == 0
    folder = run_dir / "export" / fmt
    info = json.loads((folder / "selfsup-encoder.json").read_text())
    assert info["format"] == fmt and info["backbone"] == "resnet_tiny"
    assert info["input"]["size"] == 8 and info["source"]["method"] == "simclr"
    names = {p.name for p in folder.iterdir()}
    assert {"backbone.safetensors", "selfsup-encoder.json"} <= names
    assert extra is None or extra in names
    assert not [n for n in names if n.endswith(".tmp")]  # no temporary file left behind
    out = capsys.readouterr().out
    assert f"exported resnet_tiny (image, 256 features) to {folder}" in out
    assert "check reload: max |diff| vs PyTorch 0" in out
    assert "no upstream weights: 32-64-128-256 stage widths" in out


def test_a_checkpoint_file_and_out_folder(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = latest_checkpoint(run_dir)
    out = tmp_path / "mine"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out)]) == 0
    info = json.loads((out / "selfsup-encoder.json").read_text())
    assert info["source"]["checkpoint"] == str(ckpt) and "exported" in capsys.readouterr().out


def test_bad_input_gets_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--checkpoint", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"selfsup: error: checkpoint not found: {tmp_path / 'none'}"
    with pytest.raises(SystemExit):
        main(["export", "--checkpoint", str(tmp_path), "--format", "pickle"])
    assert "invalid choice: 'pickle'" in capsys.readouterr().err
