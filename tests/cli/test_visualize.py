"""``selfsup visualize``: PNGs from a real (tiny) MAE run, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from selfsup.cli import main
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain

TINY_VIT = ["backbone.name=vit_tiny", "backbone.img_size=8", "backbone.patch_size=2"]


@pytest.fixture(scope="module")
def mae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = load_config(
        None,
        [
            "data.source=digits",
            "data.batch_size=32",
            *TINY_VIT,
            "backbone.depth=1",
            "augment.name=crop_flip",
            "augment.size=8",
            "method.name=mae",
            "method.decoder_dim=32",
            "method.decoder_depth=1",
            "method.decoder_heads=2",
            "optim.name=adamw",
            "train.max_steps=2",
            "train.progress=false",
            "eval.knn_every_n_epochs=0",
        ],
    )
    return pretrain(cfg, run_dir=tmp_path_factory.mktemp("mae") / "run").run_dir


@pytest.mark.parametrize(("kind", "panels"), [("reconstruction", 3), ("attention", 1 + 3)])
def test_pictures_land_in_the_run_figures(mae_run: Path, kind: str, panels: int) -> None:
    code = main(["visualize", kind, "--checkpoint", str(mae_run), "--data", "digits:test"])
    assert code == 0
    png = mae_run / "figures" / f"{kind}.png"
    with Image.open(png) as im:
        width, height = im.size
    # One row per image (8 by default), one column per panel (attention: image + 3 heads).
    assert height > width * 8 / panels * 0.8 and height < width * 8 / panels * 1.25


def test_reconstructions_of_a_non_mae_method_are_one_line_errors(
    mae_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = load_config(
        None,
        [
            "data.source=digits",
            "data.batch_size=32",
            "backbone.name=resnet_tiny",
            "augment.name=simclr",
            "augment.size=8",
            "method.name=simclr",
            "train.max_steps=1",
            "train.progress=false",
            "eval.knn_every_n_epochs=0",
        ],
    )
    run = pretrain(cfg, run_dir=tmp_path / "simclr").run_dir
    capsys.readouterr()  # the run's own lines
    for kind, needs in (
        ("reconstruction", "an mae, colorization or inpainting"),
        ("attention", "a ViT backbone"),
    ):
        # a folder that does not exist: the method is checked before any data is read
        missing = str(tmp_path / "no-such-images")
        code = main(["visualize", kind, "--checkpoint", str(run), "--data", missing])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.startswith("selfsup: error:") and "\n" not in err
        assert needs in err and "no-such-images" not in err
    assert main(["visualize", "attention", "--checkpoint", str(mae_run), "--data", "nope/"]) == 2


def test_audio_mae_reconstructions_are_log_mel_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from audio_run_helpers import tiny_audio_mae_run, tiny_audio_run

    run, data = tiny_audio_mae_run(tmp_path)
    spec = f"{data}:digit@test"
    assert main(["visualize", "reconstruction", "--checkpoint", str(run), "--data", spec,
                 "--num", "3"]) == 0  # fmt: skip
    with Image.open(run / "figures" / "reconstruction.png") as im:
        width, height = im.size
    assert 0.5 < height / width < 0.8  # 3 rows of 3 log-mel panels
    # An image dataset for an audio method, and an audio run without a decoder: one line each.
    capsys.readouterr()
    assert (
        main(["visualize", "reconstruction", "--checkpoint", str(run), "--data", "digits:test"])
        == 2
    )
    simclr, _ = tiny_audio_run(tmp_path / "simclr", steps=1)
    capsys.readouterr()
    code = main(["visualize", "reconstruction", "--checkpoint", str(simclr), "--data", spec])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "audio_mae" in err
