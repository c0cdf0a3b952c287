"""The periodic held-out loss: logged as val_loss for language models, off for the rest."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from run_helpers import tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.data.collate import collate
from selfsup.engine.build import build_method, build_split
from selfsup.engine.load import load_method
from selfsup.engine.validation import build_validation, has_validation_loss, validation_items
from text_run_helpers import tiny_text_run


def _logged(run_dir: Path, column: str) -> dict[int, float]:
    with (run_dir / "csv" / "part-0" / "metrics.csv").open() as f:
        return {int(r["step"]): float(r[column]) for r in csv.DictReader(f) if r.get(column)}


def test_a_gpt_run_logs_its_val_loss_every_n_steps_and_at_the_end(tmp_path: Path) -> None:
    result = tiny_text_run(tmp_path, "gpt", steps=5, overrides=("eval.val_loss_every_n_steps=2",))
    logged = _logged(result.run_dir, "val_loss")
    assert sorted(logged) == [2, 4, 5]
    # Independent check: the final weights' mean next-token loss over the val windows.
    method, cfg = load_method(result.run_dir)
    val = build_split(cfg, "val")
    assert len(val) <= 8 * cfg.data.batch_size  # small enough to be scored whole
    with torch.no_grad():
        losses = [float(method.lm_loss({"input": val[i]["input"][None]})) for i in range(len(val))]
    assert logged[5] == pytest.approx(sum(losses) / len(losses), rel=1e-4)
    assert logged[2] > logged[5]  # it follows training


def test_the_masked_lm_val_loss_masks_the_same_tokens_each_time(tmp_path: Path) -> None:
    result = tiny_text_run(tmp_path, "bert_mlm", steps=2)
    callback = build_validation(load_method(result.run_dir)[1], result.method)
    assert callback is not None and _logged(result.run_dir, "val_loss")
    cpu = torch.device("cpu")
    first, second = callback.evaluate(result.method, cpu), callback.evaluate(result.method, cpu)
    assert first == second and first > 0


def test_view_based_methods_have_no_val_loss() -> None:
    cfg = load_config(None, tiny_digits_simclr())
    method = build_method(cfg)
    assert not has_validation_loss(method) and build_validation(cfg, method) is None


def test_the_val_items_are_capped_and_spread_over_the_split() -> None:
    data = [{"input": torch.tensor([i]), "label": -1} for i in range(100)]
    items = validation_items(data, 5)  # type: ignore[arg-type]
    picked = [int(collate([items[i]])["input"]) for i in range(len(items))]  # type: ignore[arg-type]
    assert picked == [0, 25, 50, 74, 99]
    assert validation_items(data, 500) is data  # type: ignore[arg-type]


def test_a_resume_may_change_how_often_val_loss_is_logged(tmp_path: Path) -> None:
    from selfsup.engine.run import resume_run

    run_dir = tiny_text_run(tmp_path, "gpt", steps=2).run_dir
    resume_run(run_dir, ["train.max_steps=4", "eval.val_loss_every_n_steps=1"])
    with (run_dir / "csv" / "part-1" / "metrics.csv").open() as f:
        steps = [int(r["step"]) for r in csv.DictReader(f) if r.get("val_loss")]
    assert steps == [3, 4]
