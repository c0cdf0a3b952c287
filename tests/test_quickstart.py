"""A shortened quickstart runs end to end, and its checkpoint evaluates from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selfsup.cli import main
from selfsup.cli.quickstart import run_quickstart


@pytest.mark.slow
def test_short_quickstart_and_cli_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = run_quickstart(
        output_dir=str(tmp_path), epochs=6, show=False, overrides=["train.progress=false"]
    )
    rows = summary["rows"]
    assert set(rows) == {"raw pixels", "random init", "pretrained"}
    for row in rows.values():
        assert 0.5 < row["knn_top1"] <= 1.0 and 0.5 < row["linear_top1"] <= 1.0
    # Pretraining must teach the same network something (raw pixels alone score ~98% here).
    assert rows["pretrained"]["knn_top1"] > rows["random init"]["knn_top1"] + 0.01
    assert rows["pretrained"]["linear_top1"] > rows["random init"]["linear_top1"]
    run_dir = Path(summary["run_dir"])
    assert json.loads((run_dir / "quickstart.json").read_text())["rows"] == rows
    run_info = json.loads((run_dir / "run.json").read_text())
    assert run_info["precision"] == "32-true" and run_info["config"]["method"]["name"] == "simclr"
    assert list((run_dir / "csv").glob("part-0/metrics.csv"))
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))

    out = tmp_path / "knn.json"
    code = main(
        [
            "eval",
            "knn",
            "--checkpoint",
            str(run_dir),
            "--train",
            "digits:train",
            "--test",
            "digits:test",
            "--k",
            "20",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    # The CLI rebuilds the model from the checkpoint alone: same accuracy (up to float ties).
    assert result["knn_top1"] == pytest.approx(rows["pretrained"]["knn_top1"], abs=2.5 / 450)
    assert result["train_size"] == 1347 and result["test_size"] == 450
    assert "knn_top1" in capsys.readouterr().out
