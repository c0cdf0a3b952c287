"""pretrain() from Python prints what the command prints: selfsup's lines, none of Lightning's."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from run_helpers import tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.engine.quiet import quiet_lightning
from selfsup.engine.run import pretrain


def test_the_python_api_shows_selfsup_lines_and_no_lightning_banner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = logging.getLogger("selfsup")
    monkeypatch.setattr(ours, "handlers", [])  # as in a fresh notebook: nothing configured
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    cfg = load_config(None, [*tiny_digits_simclr(), "train.max_steps=2"])
    pretrain(cfg, run_dir=tmp_path / "run")
    err = capsys.readouterr().err
    assert "selfsup.engine: finished all 2 steps at step 2" in err
    for chatter in ("GPU available", "TPU available", "Tip:", "LeafSpec", "weights_only"):
        assert chatter not in err, err


def test_quiet_lightning_restores_levels_and_stays_out_of_the_way_when_verbose() -> None:
    lightning_log = logging.getLogger("lightning.pytorch")
    before = lightning_log.level
    with quiet_lightning():
        assert lightning_log.level == logging.WARNING
    assert lightning_log.level == before
    ours = logging.getLogger("selfsup")
    level = ours.level
    ours.setLevel(logging.DEBUG)
    try:
        lightning_log.setLevel(logging.INFO)
        with quiet_lightning():
            assert lightning_log.level == logging.INFO
    finally:
        ours.setLevel(level)
        lightning_log.setLevel(before)
