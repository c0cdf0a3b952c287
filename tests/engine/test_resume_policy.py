"""A resume takes only overrides that keep its records true, and warns when the world changes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from run_helpers import tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.engine.resume_policy import check_resume_overrides, warn_world_change
from selfsup.engine.run import pretrain, resume_run
from selfsup.registry import ConfigError

BASE = [*tiny_digits_simclr(), "train.max_steps=2", "train.log_every_n_steps=1"]


def test_overrides_that_change_what_trained_are_refused() -> None:
    saved = load_config(None, BASE)
    check_resume_overrides(saved, load_config(None, [*BASE, "train.max_steps=8"]))
    check_resume_overrides(saved, load_config(None, [*BASE, "eval.knn_every_n_epochs=5"]))
    for override, key in (
        ("optim.base_lr=100000000.0", "optim.base_lr"),
        ("method.temperature=0.5", "method.temperature"),
        ("data.batch_size=32", "data.batch_size"),
        ("train.seed=3", "train.seed"),
    ):
        with pytest.raises(ConfigError, match=f"a resume cannot change {key}"):
            check_resume_overrides(saved, load_config(None, [*BASE, override]))


def test_a_refused_resume_leaves_the_records_as_they_were(tmp_path: Path) -> None:
    run = pretrain(load_config(None, BASE), run_dir=tmp_path / "run").run_dir
    config, info = (run / "config.yaml").read_text(), (run / "run.json").read_text()
    with pytest.raises(ConfigError, match=r"optim\.base_lr"):
        resume_run(run, ["optim.base_lr=1e8"])
    assert (run / "config.yaml").read_text() == config
    assert (run / "run.json").read_text() == info
    result = resume_run(run, ["train.max_steps=4"])  # an allowed one trains and is recorded
    assert result.global_step == 4
    recorded = json.loads((run / "run.json").read_text())
    assert recorded["config"]["train"]["max_steps"] == 4 and recorded["resumed_from"]
    assert "max_steps: 4" in (run / "config.yaml").read_text()


def test_a_resume_on_fewer_processes_names_the_global_batch_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"world_size": 2, "global_batch": 512}))
    with caplog.at_level(logging.WARNING, logger="selfsup"):
        warn_world_change(tmp_path, 1, 256)
    assert "runs on 1 process, the run trained on 2" in caplog.text
    assert "from 512 to 256" in caplog.text
    caplog.clear()
    warn_world_change(tmp_path, 2, 512)
    assert not caplog.text
