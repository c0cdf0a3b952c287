"""A NaN/inf loss stops the run with one line naming the step and the last good checkpoint, or
is skipped and counted up to ``train.skip_nonfinite``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from run_helpers import tiny_digits_simclr
from selfsup.cli import main
from selfsup.config.load import load_config, save_config
from selfsup.methods.base import Batch
from selfsup.methods.contrastive.simclr import SimCLR
from selfsup.methods.registry import METHODS

NAN_CALLS = {3, 5}  # which training_step calls (1-based) return a NaN loss


class NaNSimCLR(SimCLR):
    """SimCLR whose loss is NaN on the calls in ``NAN_CALLS``."""

    calls = 0

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        out = super().training_step(batch, generator)
        NaNSimCLR.calls += 1
        if NaNSimCLR.calls in NAN_CALLS:
            out["loss"] = out["loss"] * float("nan")
        return out


@pytest.fixture
def nan_method() -> Iterator[None]:
    METHODS.register("nan_simclr", tiny={"backbone": "resnet_tiny"})(NaNSimCLR)
    NaNSimCLR.calls = 0
    try:
        yield
    finally:
        METHODS.unregister("nan_simclr")


def run(tmp_path: Path, *overrides: str) -> int:
    base = [*tiny_digits_simclr(), "method.name=nan_simclr", "optim.name=adamw"]
    cfg = load_config(None, [*base, "train.checkpoint_every_n_steps=2", *overrides])
    save_config(cfg, tmp_path / "cfg.yaml")
    return main(["pretrain", str(tmp_path / "cfg.yaml"), "--run-dir", str(tmp_path / "run")])


def test_a_nan_loss_stops_with_one_line_naming_the_last_checkpoint(
    nan_method: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "train.max_steps=6") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "loss is nan at step 2" in err and "train.skip_nonfinite=N" in err
    assert "last good checkpoint:" in err and err.endswith("step-00000002.ckpt")


def test_nan_steps_are_skipped_and_counted_up_to_the_limit(
    nan_method: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "train.max_steps=6", "train.skip_nonfinite=2") == 0
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["global_step"] == 6 and NaNSimCLR.calls == 6  # skipped steps still count
    err = capsys.readouterr().err
    assert "step 2 skipped (1 of at most 2)" in err and "step 4 skipped (2 of at most 2)" in err


def test_one_skip_too_many_stops(
    nan_method: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "train.max_steps=6", "train.skip_nonfinite=1") == 1
    assert "at step 4 (after 1 skipped)" in capsys.readouterr().err


def test_ranks_agree_a_step_is_nonfinite_when_one_rank_sees_nan(tmp_path: Path) -> None:
    """One rank's NaN makes every rank skip (or stop) the same step; all finite: none does."""
    from distributed_helpers import require_gloo, run_ranks
    from selfsup.engine.module import finite_on_every_rank

    require_gloo()

    def body(rank: int) -> dict[str, bool]:
        nan_here = torch.tensor(float("nan") if rank == 1 else 1.0)
        return {
            "one_nan": finite_on_every_rank(nan_here),
            "all_finite": finite_on_every_rank(torch.tensor(2.0)),
        }

    results = run_ranks(body, tmp_path)
    assert [r["one_nan"] for r in results] == [False, False]
    assert [r["all_finite"] for r in results] == [True, True]
