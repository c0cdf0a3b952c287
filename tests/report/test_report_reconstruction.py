"""The report of a pixel-predicting run draws the method's reconstructions itself."""

from __future__ import annotations

from pathlib import Path

from selfsup.cli.report import make_report
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain


def test_an_inpainting_report_embeds_its_filled_in_images(tmp_path: Path) -> None:
    cfg = load_config(
        None,
        [
            "data.source=digits", "data.batch_size=32", "data.val_split=val",
            "backbone.name=resnet_tiny", "augment.name=crop_flip", "augment.size=16",
            "method.name=inpainting", "method.decoder_width=16",
            f"train.output_dir={tmp_path}", "train.run_name=inpaint", "train.max_steps=2",
            "train.progress=false", "eval.knn_every_n_epochs=1000",
        ],
    )  # fmt: skip
    run = pretrain(cfg).run_dir
    html = make_report(run, features=False).read_text()
    figure = run / "figures" / "reconstruction.png"
    assert figure.stat().st_size > 1000
    assert "reconstruction" in html and "reconstruction figure skipped" not in html
    figure.write_bytes(figure.read_bytes())  # the user's own figure is kept, not redrawn
    mtime = figure.stat().st_mtime_ns
    make_report(run, features=False)
    assert figure.stat().st_mtime_ns == mtime
