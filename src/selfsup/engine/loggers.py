"""``train.loggers``: where a run's metrics go. The CSV log is always written (reports and
resumes read it); TensorBoard, Weights & Biases and MLflow are Lightning's own loggers."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger

from selfsup.registry import ConfigError

# Logger name -> (package it needs, the pip extra that installs it).
NEEDS = {"wandb": ("wandb", "wandb"), "mlflow": ("mlflow", "mlflow")}


def check_loggers(names: Sequence[str]) -> None:
    """One line naming the install command for a logger whose package is missing."""
    for name in names:
        if name in NEEDS and importlib.util.find_spec(NEEDS[name][0]) is None:
            package, extra = NEEDS[name]
            raise ConfigError(
                f"train.loggers: '{name}' needs the {package} package: "
                f"pip install 'selfsup[{extra}]' (or drop it from train.loggers)"
            )


def build_loggers(
    names: Sequence[str], run_dir: Path, run_name: str, config: dict[str, Any]
) -> list[Logger]:
    """The configured loggers, CSV first; ``config`` is recorded as the run's hyperparameters
    where the service shows them (W&B, MLflow)."""
    check_loggers(names)
    loggers: list[Logger] = [csv_logger(run_dir)]
    if "tensorboard" in names:
        loggers.append(TensorBoardLogger(run_dir, name="", version="tensorboard"))
    if "wandb" in names:
        from lightning.pytorch.loggers import WandbLogger

        wandb = WandbLogger(
            name=run_name,
            save_dir=str(run_dir),
            project=os.environ.get("WANDB_PROJECT", "selfsup"),
            config=config,
        )
        loggers.append(wandb)
    if "mlflow" in names:
        from lightning.pytorch.loggers import MLFlowLogger

        uri = os.environ.get("MLFLOW_TRACKING_URI", (run_dir / "mlruns").resolve().as_uri())
        mlflow = MLFlowLogger(experiment_name="selfsup", run_name=run_name, tracking_uri=uri)
        mlflow.log_hyperparams(config)
        loggers.append(mlflow)
    return loggers


def csv_logger(run_dir: Path) -> CSVLogger:
    """One ``csv/part-N/metrics.csv`` per launch: a resumed run never overwrites earlier logs."""
    parts = sorted((run_dir / "csv").glob("part-*"))
    return CSVLogger(run_dir / "csv", name="", version=f"part-{len(parts)}")
