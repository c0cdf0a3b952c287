"""The report of a tiny real run: every section present, every picture embedded and decodable."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from selfsup.cli.report import make_report
from selfsup.config.load import apply_overrides, build_config, read_yaml
from selfsup.config.presets import preset_path
from selfsup.engine.run import pretrain
from selfsup.registry import ConfigError
from selfsup.report.html import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "render_report.py"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    overrides = [
        f"train.output_dir={out}", "train.run_name=tiny", "train.max_steps=4",
        "train.log_every_n_steps=1", "train.progress=false", "data.batch_size=32",
        "train.checkpoint_every_n_steps=4", "eval.knn_every_n_epochs=1000",
    ]  # fmt: skip
    result = pretrain(
        build_config(apply_overrides(read_yaml(preset_path("quickstart-digits")), overrides))
    )
    (result.run_dir / "figures").mkdir()
    shutil.copy(_any_png(result.run_dir), result.run_dir / "figures" / "masked_views.png")
    (result.run_dir / "eval").mkdir()
    (result.run_dir / "eval" / "fewshot.json").write_text(json.dumps({"top1": 0.5, "k": 5}))
    return result.run_dir


def _any_png(run_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = run_dir / "tmp.png"
    plt.figure(figsize=(1, 1)).savefig(path)
    plt.close("all")
    return path


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_report_has_every_section_and_embedded_picture(run_dir: Path) -> None:
    html = make_report(run_dir, max_items=200).read_text()
    sections = set(re.findall(r'<section id="([^"]+)"', html))
    expected = {"collapse", "loss", "lr", "monitor-embedding_std", "monitor-effective_rank"}
    expected |= {"tsne", "neighbours", "evals"}
    assert expected | {"figures", "accuracy"} <= sections
    images = _images(html)
    # loss, lr, embedding std, effective rank, online kNN accuracy (the run's closing
    # evaluation), t-SNE, neighbour grid, the method figure.
    assert len(images) == 8 and all(img.startswith(PNG_MAGIC) for img in images)
    assert "masked views" in html and "50.00%" in html  # figure caption, eval JSON table
    assert "http://" not in html and "https://" not in html  # self-contained
    assert "simclr" in html and "resnet_tiny" in html


def test_missing_pieces_become_notes(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{not json")
    html = make_report(tmp_path, features=True).read_text()
    assert "run.json unreadable" in html and "no csv/part-*/metrics.csv" in html
    assert "no checkpoint" in html and not _images(html)


def test_not_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run directory not found"):
        write_report(tmp_path / "absent")
    with pytest.raises(ConfigError, match="run directory not found"):
        make_report(tmp_path / "absent")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_chromium_renders_the_report(run_dir: Path, tmp_path: Path) -> None:
    html = write_report(run_dir, tmp_path / "r.html")
    png = tmp_path / "r.png"
    cmd = [sys.executable, str(SCRIPT), str(html), str(png), "--height", "1200"]
    subprocess.run(cmd, check=True, timeout=240, capture_output=True)
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 20_000
