"""export_backbone: checks that stop a bad export, and a caller's backbone left as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from export_helpers import tiny_backbone
from selfsup.export import formats
from selfsup.export.write import export_backbone
from selfsup.registry import ConfigError, RunError


def test_a_file_that_differs_stops_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backbone, info = tiny_backbone("resnet_tiny")
    monkeypatch.setattr(formats, "torchscript_max_diff", lambda *a: 0.5)
    with pytest.raises(RunError, match=r"does not reproduce the backbone: max \|diff\| torch"):
        export_backbone(backbone, info, tmp_path, "torchscript")


def test_the_backbone_keeps_its_mode(tmp_path: Path) -> None:
    backbone, info = tiny_backbone("resnet_tiny")
    backbone.train()
    export_backbone(backbone, info, tmp_path, "safetensors")
    assert backbone.training


def test_an_unknown_format_gets_one_line(tmp_path: Path) -> None:
    backbone, info = tiny_backbone("resnet_tiny")
    with pytest.raises(ConfigError, match="unknown export format 'tflite'; use one of"):
        export_backbone(backbone, info, tmp_path, "tflite")


def test_import_selfsup_stays_light() -> None:
    code = "import sys, selfsup; print(callable(selfsup.load_backbone), 'torch' in sys.modules)"
    src = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "PATH": ""},
    )
    assert out.stdout.strip() == "True False"


def test_a_full_disk_gets_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import safetensors.torch

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    backbone, info = tiny_backbone("resnet_tiny")
    with pytest.raises(RunError) as e:
        export_backbone(backbone, info, tmp_path, "safetensors")
    target = tmp_path / "backbone.safetensors"
    assert str(e.value) == f"cannot write {target}: No space left on device"
    assert list(tmp_path.iterdir()) == []  # no half file, no temporary left
