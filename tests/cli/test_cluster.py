"""``selfsup cluster``: every frame of every clip gets a label, one summary line; bad
requests are one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from data.audio_helpers import RATE, fsdd_like
from selfsup.backbones import create_backbone
from selfsup.cli import main
from selfsup.data.eval_audio import audio_dataset_from_spec
from selfsup.data.frame_labels import read_frame_labels

MFCC_ARGS = ["--backbone", "wav2vec2_tiny", "--sample-rate", str(RATE), "--backend", "torch"]


@pytest.mark.parametrize("fit", [[], ["--fit-clips", "6"]], ids=["all", "sample"])
def test_every_frame_of_every_clip_gets_a_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fit: list[str]
) -> None:
    data = fsdd_like(tmp_path / "wav")
    out = tmp_path / "labels" / "mfcc.safetensors"
    assert main(["cluster", str(data), "--k", "8", "--out", str(out), *MFCC_ARGS, *fit]) == 0
    summary = capsys.readouterr().out.strip().splitlines()
    assert len(summary) == 1 and "k=8" in summary[0] and "inertia" in summary[0]
    assert ("fit on" in summary[0]) == bool(fit)  # a sample fits, every clip is labelled
    labels = read_frame_labels(out)
    clips = audio_dataset_from_spec(str(data), RATE, 0.0)
    assert labels.clips == tuple(clips.clip_keys())
    encoder = create_backbone("wav2vec2_tiny", sample_rate=RATE)
    for i in range(len(clips)):
        frames = int(encoder.valid_tokens(clips.clip(i)[None]).sum())
        got = labels.for_clip(i)
        assert len(got) == frames and int(got.min()) >= 0 and int(got.max()) < 8
    assert f"{len(labels.labels):,} frames of {len(clips)} clips" in summary[0]
    assert len(torch.unique(labels.labels)) > 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["mfcc.safetensors"]  # no temp file


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--features", "layer"], "needs --run"),
        (["--k", "100000"], "too few for --k"),
        (["--backbone", "audio_vit_tiny"], "no frames"),
    ],
)
def test_bad_requests_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    data = fsdd_like(tmp_path / "wav", takes=2)
    out = tmp_path / "labels.safetensors"
    args = ["cluster", str(data), "--out", str(out), *MFCC_ARGS, *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("selfsup: error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err
    assert not out.exists()
