"""``selfsup eval`` on an audio checkpoint: the protocols batch padded clips, SUPERB reports
its layer weights, and the MFCC / random-init baselines write their own rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audio_run_helpers import tiny_audio_run
from selfsup.cli import main


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tiny_audio_run(tmp_path_factory.mktemp("audio"))


def run_eval(run: Path, *args: str) -> dict:
    assert main(["eval", *args, "--checkpoint", str(run)]) == 0
    protocol = args[0]
    baseline = args[args.index("--baseline") + 1] if "--baseline" in args else None
    name = f"{protocol}-{baseline}" if baseline else protocol
    return json.loads((run / "eval" / f"{name}.json").read_text())


def splits(data: Path, label: str = "digit") -> list[str]:
    return ["--train", f"{data}:{label}@train", "--test", f"{data}:{label}@test"]


def test_superb_reports_one_weight_per_layer(audio_run: tuple[Path, Path]) -> None:
    run, data = audio_run
    r = run_eval(run, "superb", *splits(data, "speaker"), "--epochs", "5")
    weights = [r["weight_input"], r["weight_block1"], r["weight_block2"]]
    assert r["layers"] == 3 and sum(weights) == pytest.approx(1.0, abs=1e-5)
    assert 0.0 <= r["superb_top1"] <= 1.0 and r["test_size"] == 30


def test_baselines_write_their_own_rows(audio_run: tuple[Path, Path]) -> None:
    run, data = audio_run
    mfcc = run_eval(run, "linear", *splits(data), "--baseline", "mfcc", "--epochs", "20")
    assert mfcc["baseline"] == "mfcc" and mfcc["linear_top1"] > 0.9  # pitch tells the digits
    fresh = run_eval(run, "knn", *splits(data), "--baseline", "random-init", "--k", "5")
    assert fresh["baseline"] == "random-init" and 0.0 <= fresh["knn_top1"] <= 1.0
    assert not (run / "eval" / "linear.json").exists()  # the checkpoint's own rows untouched


def test_monitors_tsne_and_finetune_read_padded_clips(audio_run: tuple[Path, Path]) -> None:
    run, data = audio_run
    m = run_eval(run, "monitors", "--data", f"{data}:digit@test", "--max-items", "16")
    assert m["items_for_views"] == 16
    t = run_eval(run, "tsne", "--data", f"{data}:digit@test", "--perplexity", "5")
    assert Path(t["plot"]).is_file()
    f = run_eval(run, "finetune", *splits(data), "--epochs", "1", "--threads", "1")
    assert f["epochs_run"] == 1


def test_a_baseline_without_weights_cannot_be_fine_tuned(
    audio_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run, data = audio_run
    assert (
        main(["eval", "finetune", *splits(data), "--checkpoint", str(run), "--baseline", "mfcc"])
        == 2
    )
    assert "eval finetune has no --baseline mfcc" in capsys.readouterr().err


def test_visualize_draws_clips_into_the_runs_figures(audio_run: tuple[Path, Path]) -> None:
    run, data = audio_run
    args = ["visualize", "clips", "--checkpoint", str(run), "--data", f"{data}:speaker@test"]
    assert main([*args, "--num", "3"]) == 0
    assert (run / "figures" / "clips.png").read_bytes().startswith(b"\x89PNG")


def longer_pool(root: Path) -> Path:
    """Unlabelled-pool clips (digits 0-2 at their pitches) longer than any clip of the run's
    folder, so the pool's padding width differs from the labelled set's."""
    from data.audio_helpers import tone, write_audio

    for digit in range(3):
        for n in range(4):
            write_audio(
                root / f"{digit}_zed_{n}.wav", tone(0.6 + 0.05 * n, freq=300.0 + 100 * digit)
            )
    return root


@pytest.mark.parametrize(
    ("labeller", "pool"),
    [("finetune", "rest-of-train"), ("finetune", "unlabeled"), ("linear", "unlabeled")],
)
def test_pseudolabel_refines_on_padded_clips(
    audio_run: tuple[Path, Path], tmp_path: Path, labeller: str, pool: str
) -> None:
    run, data = audio_run
    budget = ["--per-class", "3"] if pool == "rest-of-train" else []
    if pool == "unlabeled":
        budget = ["--unlabeled", f"{longer_pool(tmp_path / 'pool')}:digit"]
    r = run_eval(run, "pseudolabel", *splits(data), *budget, "--pseudo-fraction", "0.5",
                 "--epochs", "2", "--threads", "1", "--batch-size", "8",
                 "--labeller", labeller)  # fmt: skip
    assert r["labeller"] == labeller
    labeled, pooled = (9, 21) if pool == "rest-of-train" else (30, 12)
    assert r["labeled"] == labeled and r["pool"] == pooled
    assert 0 < r["pseudo_labels"] <= pooled
    assert 0.0 <= r["pseudo_label_accuracy"] <= 1.0  # the pool's own labels score them
    assert r["gain"] == pytest.approx(r["refined_top1"] - r["baseline_top1"])
