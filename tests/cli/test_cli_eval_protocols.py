"""``selfsup eval <protocol>`` on a tiny checkpoint over the bundled digits: table + JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from selfsup.cli import build_parser, main
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    cfg = load_config(
        None,
        [
            "data.source=digits", "data.batch_size=64", "backbone.name=resnet_tiny",
            "augment.name=simclr", "augment.size=8", "method.name=simclr",
            "train.max_steps=1", "train.progress=false", "eval.knn_every_n_epochs=0",
        ],
    )  # fmt: skip
    result = pretrain(cfg, run_dir=run)
    return Path(result.last_checkpoint)


def run_eval(ckpt: Path, *args: str) -> dict:
    out = ckpt.parent.parent / "eval" / "test-result.json"
    assert main(["eval", *args, "--checkpoint", str(ckpt), "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_fewshot_retrieval_and_cache(checkpoint: Path) -> None:
    r = run_eval(checkpoint, "fewshot", "--train", "digits:train", "--test", "digits:test",
                 "--per-class", "2", "--seeds", "0", "1", "--epochs", "20")  # fmt: skip
    assert r["labels_used"] == 20 and len(r["per_seed"]["linear"]) == 2
    assert 0.1 < r["linear_mean"] <= 1.0
    cached = list((checkpoint.parent.parent / "eval" / "features").glob("*.safetensors"))
    assert len(cached) == 2  # train and test features, reused by the next protocol
    r = run_eval(checkpoint, "retrieval", "--data", "digits:test")
    assert r["mode"] == "leave-one-out" and r["queries"] == 450
    assert r["recall@1"] <= r["recall@5"] <= r["recall@10"]
    assert len(list(cached[0].parent.glob("*.safetensors"))) == 2  # digits:test reused


def test_monitors_and_pseudolabel(checkpoint: Path) -> None:
    r = run_eval(checkpoint, "monitors", "--data", "digits:test", "--max-items", "64")
    assert 1.0 <= r["effective_rank"] <= r["max_rank"] and r["items_for_views"] == 64
    assert 0.0 <= r["alignment"] <= 4.0 and r["uniformity"] <= 0.0
    r = run_eval(checkpoint, "pseudolabel", "--train", "digits:train", "--test", "digits:test",
                 "--labels", "100", "--pseudo-fraction", "0.2", "--epochs", "20",
                 "--labeller", "linear")  # fmt: skip
    assert r["labeled"] == 100 and r["pool"] == 1247 and r["pseudo_labels"] == 250
    assert r["labeller"] == "linear" and r["weight_decay"] > 0


def test_pseudolabel_with_a_finetuned_labeller(
    checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(["eval", "pseudolabel", "--checkpoint", "x"])
    assert args.labeller == "finetune"  # the requirement's recipe is the default
    r = run_eval(checkpoint, "pseudolabel", "--train", "digits:train", "--test", "digits:test",
                 "--labels", "50", "--pseudo-fraction", "0.1", "--epochs", "1", "--threads", "1",
                 "--labeller", "finetune")  # fmt: skip
    assert r["labeller"] == "finetune" and r["epochs"] == 1
    assert r["labeled"] == 50 and r["pool"] == 1297 and r["class_balanced"] is True
    assert 0 < r["pseudo_labels"] <= 130  # at most 13 per predicted class
    assert 0.0 <= r["baseline_top1"] <= 1.0 and 0.0 <= r["refined_top1"] <= 1.0
    assert r["gain"] == pytest.approx(r["refined_top1"] - r["baseline_top1"])
    assert 0.0 <= r["pseudo_label_accuracy"] <= 1.0
    table = capsys.readouterr().out
    assert "labeller" in table and "finetune" in table


def test_tsne_writes_a_plot_of_the_subsample(checkpoint: Path) -> None:
    r = run_eval(checkpoint, "tsne", "--data", "digits:test", "--tsne-items", "60")
    assert r["points"] == 60 and r["perplexity"] == 30.0
    plot = Path(r["plot"])
    assert plot.suffix == ".png" and plot.read_bytes()[:4] == b"\x89PNG"


def test_missing_data_argument_is_one_line(
    checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["eval", "fewshot", "--checkpoint", str(checkpoint), "--train", "digits:train"]) == 2
    )
    assert "eval fewshot needs --test" in capsys.readouterr().err
    code = main(["eval", "fewshot", "--checkpoint", str(checkpoint), "--train", "digits:train",
                 "--test", "digits:test", "--no-cache"])  # fmt: skip
    assert code == 2 and "--per-class N" in capsys.readouterr().err
    code = main(["eval", "fewshot", "--checkpoint", str(checkpoint), "--train", "digits:train",
                 "--test", "digits:test", "--per-class", "1000", "--no-cache"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("selfsup: error: eval fewshot: classes [0, 1")
    assert len(err.splitlines()) == 1


def test_few_label_finetune(checkpoint: Path) -> None:
    r = run_eval(checkpoint, "finetune", "--train", "digits:train", "--test", "digits:test",
                 "--per-class", "5", "--epochs", "1", "--threads", "1")  # fmt: skip
    assert r["train_labels"] == 50 and r["epochs_run"] == 1
    assert 0.0 <= r["finetune_top1_best"] <= 1.0


def test_knn_and_retrieval_take_an_index(checkpoint: Path) -> None:
    pytest.importorskip("faiss", reason="faiss-cpu (the faiss extra) is not installed")
    data = ["--train", "digits:train", "--test", "digits:test"]
    auto = run_eval(checkpoint, "knn", *data, "--k", "10")
    assert auto["index"] == "exact"  # digits are far below the auto threshold
    flat = run_eval(checkpoint, "knn", *data, "--k", "10", "--index", "faiss-flat")
    assert flat["index"] == "faiss-flat" and flat["knn_top1"] == auto["knn_top1"]
    ivf = run_eval(checkpoint, "knn", *data, "--k", "10", "--index", "faiss-ivf",
                   "--nlist", "8", "--nprobe", "2")  # fmt: skip
    assert ivf["index"] == "faiss-ivf (nlist 8, nprobe 2)" and 0.0 < ivf["knn_top1"] <= 1.0
    r = run_eval(checkpoint, "retrieval", *data, "--index", "faiss", "--map-depth", "20")
    assert r["index"] == "faiss-flat" and "map@20" in r and "map" not in r
    exact = run_eval(checkpoint, "retrieval", *data, "--index", "exact", "--map-depth", "20")
    assert exact["recall@5"] == r["recall@5"] and exact["map@20"] == pytest.approx(r["map@20"])


def test_index_flag_is_checked(
    checkpoint: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["eval", "knn", "--checkpoint", str(checkpoint), "--train", "digits:train",
            "--test", "digits:test"]  # fmt: skip
    assert build_parser().parse_args([*args, "--index", "faiss-ivf"]).index == "faiss-ivf"
    assert build_parser().parse_args(args).index == "auto"
    with pytest.raises(SystemExit):
        build_parser().parse_args([*args, "--index", "annoy"])
    monkeypatch.setitem(sys.modules, "faiss", None)  # as if the faiss extra were absent
    capsys.readouterr()
    assert main([*args, "--index", "faiss"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("selfsup: error: index faiss needs faiss")
    assert "pip install selfsup[faiss]" in err and len(err.splitlines()) == 1
