"""Shared pieces of the engine tests' runs: a tiny SimCLR run on the bundled digits, a
callback that records one value per training step, a run killed at a given step, and a fake
clock for time budgets."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import lightning as L
import pytest

from selfsup.engine import module as module_module
from selfsup.engine import run as run_module
from selfsup.engine import run_length as run_length_module
from selfsup.engine.progress import ProgressClock

# (trainer, module, outputs or optimizer) -> the value to record, or None to record nothing.
Read = Callable[[L.Trainer, L.LightningModule, Any], Any]


def tiny_digits_simclr(proj_hidden: int = 32, proj_out: int = 16) -> list[str]:
    """Overrides for SimCLR on 8 px digits with resnet_tiny (batch 64: 21 steps per epoch),
    no progress bar, no warmup and no online kNN; callers add their optimizer and train keys."""
    return [
        "data.source=digits",
        "data.batch_size=64",
        "backbone.name=resnet_tiny",
        "augment.name=simclr",
        "augment.size=8",
        "method.name=simclr",
        f"method.proj_hidden_dim={proj_hidden}",
        f"method.proj_out_dim={proj_out}",
        "train.progress=false",
        "eval.knn_every_n_epochs=0",
        "optim.warmup_epochs=0",  # short test runs; tests of warmup set their own
    ]


class StepRecorder(L.Callback):
    """Records ``read(trainer, module, x)`` in ``values``, keyed by ``trainer.global_step``.

    ``at="batch_end"`` reads after every training batch (``x``: the step's outputs; the step
    is already counted), ``at="before_optimizer_step"`` just before the optimizer steps (``x``:
    the optimizer; the step is not counted yet). A ``None`` reading is not recorded.
    """

    def __init__(
        self, read: Read, at: Literal["batch_end", "before_optimizer_step"] = "batch_end"
    ) -> None:
        self.read = read
        self.at = at
        self.values: dict[int, Any] = {}

    def series(self) -> list[Any]:
        """The recorded values in step order."""
        return [self.values[step] for step in sorted(self.values)]

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if self.at == "batch_end":
            self._record(trainer, pl_module, outputs)

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Any
    ) -> None:
        if self.at == "before_optimizer_step":
            self._record(trainer, pl_module, optimizer)

    def _record(self, trainer: L.Trainer, pl_module: L.LightningModule, x: Any) -> None:
        value = self.read(trainer, pl_module, x)
        if value is not None:
            self.values[trainer.global_step] = value


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import lightning as L
    import torch
    from selfsup.config.load import load_config
    from selfsup.engine.run import pretrain

    step, during_write = int(sys.argv[3]), sys.argv[4] == "write"

    class Kill(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.global_step == step and not during_write:
                os._exit(9)  # like a power cut: no clean-up, no final checkpoint

    real_save = torch.save

    def save_then_die(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        if isinstance(obj, dict) and obj.get("global_step") == step:
            f.flush()
            f.truncate(f.tell() // 2)  # half the bytes reached the disk
            os.kill(os.getpid(), signal.SIGKILL)

    if during_write:
        torch.save = save_then_die  # the checkpoint IO writes through torch.save

    pretrain(load_config(sys.argv[1]), run_dir=sys.argv[2], extra_callbacks=[Kill()])
    """
)


def run_killed(
    config_file: Path, run_dir: Path, kill_after: int, during_write: bool = False
) -> subprocess.CompletedProcess[str]:
    """Pretrain ``config_file`` into ``run_dir`` in a child process that dies (exit code 9,
    nothing cleaned up) when step ``kill_after`` is about to start; with ``during_write``, by
    SIGKILL halfway through writing step ``kill_after``'s checkpoint instead."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    mode = "write" if during_write else "step"
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(config_file), str(run_dir), str(kill_after), mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


class FakeTime:
    """A time function that stands still until a test moves ``now`` on."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fake_run_clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Make every ``SSLModule`` built from now on (in this test) time its budget by the
    returned fake clock instead of the machine's."""
    fake = FakeTime()
    clock = functools.partial(ProgressClock, time_fn=fake)
    monkeypatch.setattr(module_module, "ProgressClock", clock)
    monkeypatch.setattr(module_module, "clock_now", fake)
    monkeypatch.setattr(run_module, "clock_now", fake)
    monkeypatch.setattr(run_length_module, "clock_now", fake)
    return fake


class Tick(L.Callback):
    """Moves the fake clock on by ``seconds`` before every training step."""

    def __init__(self, fake: FakeTime, seconds: float) -> None:
        self.fake, self.seconds = fake, seconds

    def on_train_batch_start(self, *args: Any) -> None:
        self.fake.now += self.seconds
