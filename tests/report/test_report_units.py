"""The report's throughput fact names what the run's modality counts: images, sequences."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfsup.report.html import render_report, throughput_unit
from selfsup.report.sections_data import RunData


def _run(backbone: str) -> RunData:
    config = {"method": {"name": "m"}, "backbone": {"name": backbone}, "data": {"source": "s"}}
    return RunData(Path("run"), config=config, metrics={"img_s": [(1, 100.0), (2, 300.0)]})


@pytest.mark.parametrize(
    ("backbone", "unit"),
    [
        ("text_decoder_tiny", "sequences"),
        ("text_encoder_tiny", "sequences"),
        ("resnet18", "images"),
    ],
)
def test_throughput_is_labelled_in_the_modality_unit(backbone: str, unit: str) -> None:
    html = render_report(_run(backbone))
    assert f"<span>{unit} / s</span>" in html and "<b>200</b>" in html
    assert ("images / s" in html) == (unit == "images")


def test_an_unknown_backbone_counts_samples() -> None:
    assert throughput_unit("no_such_backbone") == "samples"
    assert "<span>samples / s</span>" in render_report(_run("no_such_backbone"))
