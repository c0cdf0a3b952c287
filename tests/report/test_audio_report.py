"""The report of an audio run: clips as waveform + log-mel, neighbours as spectrograms, t-SNE
of clips, and throughput in seconds of audio."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from audio_run_helpers import tiny_audio_run
from selfsup.cli.report import make_report
from selfsup.modalities import get_modality
from selfsup.report.html import throughput_unit
from selfsup.report.sections_audio import clips_figure, log_mel_db

PNG = b"\x89PNG"


def test_the_report_of_an_audio_run_draws_its_clips(tmp_path: Path) -> None:
    run, _ = tiny_audio_run(tmp_path)
    html = make_report(run, max_items=40).read_text()
    for section in ("clips", "neighbours", "tsne"):
        start = html.index(f'<section id="{section}"')
        assert "data:image/png;base64," in html[start : html.index("</section>", start)], section
    assert "inputs are not images" not in html
    assert "<span>seconds of audio / s</span>" in html


def test_clip_figures_are_pngs_of_whole_clips() -> None:
    clip = torch.sin(torch.arange(4000) / 3.0)
    padded = torch.cat([clip, torch.full((1000,), float("nan"))])
    assert log_mel_db(padded, 8000).shape == log_mel_db(clip, 8000).shape  # padding dropped
    assert clips_figure([clip, padded], [0, 1], 8000, ["a", "b"]).startswith(PNG)
    with pytest.raises(ValueError, match="no clips"):
        clips_figure([], [], 8000)


def test_audio_throughput_counts_seconds_of_audio() -> None:
    assert throughput_unit("audio_vit_tiny") == "seconds of audio"
    from selfsup.backbones import create_backbone

    encoder = create_backbone("audio_vit_tiny", sample_rate=8000, dim=32, depth=1, heads=2)
    amount = get_modality("audio").batch_amount(encoder)
    assert amount is not None
    batch = {"input": torch.zeros(2, 8000), "length": torch.tensor([8000, 4000])}
    assert amount(batch) == pytest.approx(1.5)


def test_the_report_of_an_audio_mae_run_draws_its_reconstructions(tmp_path: Path) -> None:
    from audio_run_helpers import tiny_audio_mae_run

    run, _ = tiny_audio_mae_run(tmp_path)
    html = make_report(run, max_items=40).read_text()
    png = run / "figures" / "reconstruction.png"
    assert png.read_bytes().startswith(PNG)
    start = html.index('<section id="figures"')
    section = html[start : html.index("</section>", start)]
    assert "<figcaption>reconstruction</figcaption>" in section
    assert "reconstruction figure skipped" not in html
