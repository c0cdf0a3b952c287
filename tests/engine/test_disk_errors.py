"""Disk trouble while checkpointing is one line naming the path, the space needed and free, and
the last good checkpoint, which stays intact; an unwritable run directory fails before data."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest
import torch

from run_helpers import tiny_digits_simclr
from selfsup.cli import main
from selfsup.config.load import load_config, save_config
from selfsup.engine import checkpoint as ckpt_module
from selfsup.engine import run as run_module
from selfsup.engine.checkpoint import CheckpointWriteError, atomic_torch_save
from selfsup.registry import ConfigError

REAL_SAVE = torch.save


def failing_save(error: BaseException, after: int = 0) -> Any:
    """A ``torch.save`` that works ``after`` times, then writes a few bytes and raises."""
    calls = {"n": 0}

    def save(obj: Any, f: Any) -> None:
        calls["n"] += 1
        if calls["n"] <= after:
            REAL_SAVE(obj, f)
            return
        f.write(b"x" * 5000)
        raise error

    return save


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos 64 vs 0"),
    ],
)
def test_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(
    error: BaseException, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "step-00000002.ckpt"
    atomic_torch_save({"w": torch.ones(3)}, good)
    monkeypatch.setattr(ckpt_module.torch, "save", failing_save(error))
    with pytest.raises(CheckpointWriteError) as err:
        atomic_torch_save({"w": torch.zeros(3)}, tmp_path / "step-00000004.ckpt")
    message = str(err.value)
    assert "\n" not in message and "step-00000004.ckpt" in message
    assert "No space left on device" in message and "MB free" in message
    assert f"last good checkpoint: {good}" in message
    assert torch.equal(torch.load(good, weights_only=True)["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]  # no temp file left


def test_other_save_errors_are_not_called_disk_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ckpt_module.torch, "save", failing_save(TypeError("cannot pickle")))
    with pytest.raises(TypeError, match="cannot pickle"):
        atomic_torch_save({"w": 1}, tmp_path / "a.ckpt")


def test_a_run_whose_disk_fills_up_stops_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = load_config(None, [*tiny_digits_simclr(), "optim.name=adamw", "train.max_steps=4",
                             "train.checkpoint_every_n_steps=2"])  # fmt: skip
    save_config(cfg, tmp_path / "cfg.yaml")
    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(ckpt_module.torch, "save", failing_save(full, after=1))
    code = main(["pretrain", str(tmp_path / "cfg.yaml"), "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    assert "step-00000004.ckpt: No space left on device" in err
    assert err.endswith(
        "last good checkpoint: " + str(tmp_path / "run/checkpoints/step-00000002.ckpt")
    )


def test_an_unwritable_run_directory_fails_before_data_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_data(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("data was read")

    monkeypatch.setattr(run_module, "build_split", no_data)
    monkeypatch.setattr(run_module.os, "access", lambda path, mode: False)
    cfg = load_config(None, [*tiny_digits_simclr(), "train.max_steps=1"])
    with pytest.raises(ConfigError, match="cannot be written"):
        run_module.pretrain(cfg, run_dir=tmp_path / "a" / "run")
    assert not (tmp_path / "a").exists()
