"""train.loggers: CSV always, TensorBoard / W&B / MLflow on request, a missing package named."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from run_helpers import tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.engine import loggers as loggers_module
from selfsup.engine.run import pretrain
from selfsup.registry import ConfigError


def test_a_missing_logger_package_is_one_line_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        loggers_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "mlflow" else real(name, *a),
    )
    cfg = load_config(None, [*tiny_digits_simclr(), "train.max_steps=1", "train.loggers=[mlflow]"])
    with pytest.raises(
        ConfigError, match=r"needs the mlflow package: pip install 'selfsup\[mlflow\]'"
    ):
        pretrain(cfg, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_csv_is_always_written_and_tensorboard_only_on_request(tmp_path: Path) -> None:
    cfg = load_config(
        None,
        [
            *tiny_digits_simclr(),
            "train.max_steps=2",
            "train.log_every_n_steps=1",
            "train.loggers=[]",
        ],
    )
    run = pretrain(cfg, run_dir=tmp_path / "run").run_dir
    assert (run / "csv" / "part-0" / "metrics.csv").exists()
    assert not (run / "tensorboard").exists()


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb not installed")
def test_a_wandb_run_in_offline_mode_logs_the_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    cfg = load_config(
        None,
        [*tiny_digits_simclr(), "train.max_steps=3", "train.log_every_n_steps=1",
         "train.loggers=[tensorboard, wandb]"],
    )  # fmt: skip
    run = pretrain(cfg, run_dir=tmp_path / "run").run_dir
    offline = list((run / "wandb").glob("offline-run-*"))
    assert len(offline) == 1, list(run.rglob("*"))[:20]
    assert list(offline[0].glob("*.wandb"))  # the run's event log, for `wandb sync`
    assert (run / "tensorboard").exists() and (run / "csv" / "part-0" / "metrics.csv").exists()
