"""Speech <-> text end to end on pairs espeak-ng speaks here: a manifest of its raw wavs (the
pairs source resamples them), a few CLIP steps, then ``selfsup eval crossmodal`` on the
held-out sentences. Skips where espeak-ng is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from selfsup.cli import main
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain

SENTENCES = (
    ("a gentle and moving film", "positive"),
    ("the plot is a mess", "negative"),
    ("warm funny and smart", "positive"),
    ("dull from start to end", "negative"),
    ("one of the best of the year", "positive"),
    ("a waste of good actors", "negative"),
    ("the cast is a joy to watch", "positive"),
    ("too long and far too slow", "negative"),
)
VOICES = ("en-us", "en-gb", "en-us+f2", "en-gb-scotland")
HELD_OUT = 3  # the last sentences are the val split


def speak_pairs(root: Path) -> Path:
    """``pairs.tsv`` with one espeak-ng recording per sentence (voices and speeds vary)."""
    lines = ["wav\ttext\tlabel\tsplit"]
    for i, (text, label) in enumerate(SENTENCES):
        wav = root / f"{i}.wav"
        voice, speed = VOICES[i % len(VOICES)], str(150 + 10 * i)
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", speed, "-w", str(wav), "--stdin"],
            input=text.encode(),
            check=True,
            capture_output=True,
            timeout=30,
        )
        split = "val" if i >= len(SENTENCES) - HELD_OUT else "train"
        lines.append(f"{wav.name}\t{text}\t{label}\t{split}")
    (root / "pairs.tsv").write_text("\n".join(lines) + "\n")
    return root / "pairs.tsv"


def test_clip_trains_on_espeak_pairs_and_evaluates_from_the_cli(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install -y espeak-ng)")
    manifest = speak_pairs(tmp_path)
    cfg = load_config(
        Path(__file__).resolve().parents[2] / "configs" / "clip-speech-text-cpu.yaml",
        [
            f"data.path={manifest}",
            "data.a.max_seconds=1.0",
            "data.b.tokenizer=char",
            "data.b.max_len=32",
            "data.batch_size=4",
            "method.tower_b.dim=32",
            "method.tower_b.depth=1",
            "method.tower_b.max_len=32",
            "method.embed_dim=16",
            "optim.warmup_epochs=0",
            "train.max_steps=3",
            "train.max_minutes=null",
            "train.progress=false",
            "train.log_every_n_steps=1",
            "eval.val_loss_every_n_steps=0",
        ],
    )
    result = pretrain(cfg, run_dir=tmp_path / "clip")
    assert result.global_step == 3
    out = tmp_path / "crossmodal.json"
    args = ["eval", "crossmodal", "--checkpoint", str(tmp_path / "clip"), "--out", str(out)]
    assert main(args) == 0
    got = json.loads(out.read_text())
    # Every held-out recording decoded and was paired: one query per sentence, both ways.
    assert got["split"] == "val" and got["pairs"] == HELD_OUT
    assert got["audio->text queries"] == HELD_OUT == got["text->audio queries"]
    for way in ("audio->text", "text->audio"):
        assert 1 <= got[f"{way} median rank"] <= HELD_OUT
        assert 0.0 <= got[f"{way} R@1"] <= got[f"{way} R@5"] == 1.0
