"""``selfsup methods`` / ``selfsup backbones``: one row per registered name, a full first
sentence in plain text, and for methods the backbones they take; the README names them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from selfsup.backbones.registry import BACKBONES
from selfsup.cli import main
from selfsup.cli.backbones import backbone_rows
from selfsup.cli.listing import first_sentence, plain
from selfsup.cli.methods import method_rows
from selfsup.methods.registry import METHODS

README = Path(__file__).resolve().parents[2] / "README.md"
MARKUP = re.compile(r"`|:[a-z]+:")


def test_plain_drops_rst_markup() -> None:
    text = "``x`` and :class:`DINOHead`, :func:`~selfsup.nn.layer_targets.layer_targets`, `z`"
    assert plain(text) == "x and DINOHead, layer_targets, z"


def test_first_sentence_is_whole_and_stops_at_its_full_stop() -> None:
    doc = """Corrupt ``mask_ratio`` of the tokens (e.g. 15%), as in Devlin et al. 2019, and
    predict them. The loss covers the chosen positions only.

    Args:
        mask_ratio: ..."""
    assert first_sentence(doc) == (
        "Corrupt mask_ratio of the tokens (e.g. 15%), as in Devlin et al. 2019, and predict them."
    )
    assert first_sentence("A list follows:\n``a -> b``") == "A list follows: a -> b"
    assert first_sentence(None) == ""


def test_methods_list_every_name_once_with_a_sentence_and_what_it_takes() -> None:
    rows = {name: (summary, takes) for name, summary, takes in method_rows()}
    assert list(rows) == METHODS.names()
    for name, (summary, takes) in rows.items():
        assert summary.endswith(".") and not MARKUP.search(summary), (name, summary)
        assert takes.startswith(("image", "text", "audio")) and ": " in takes, (name, takes)
    assert rows["moco"][0].startswith("MoCo v2") and rows["moco_v3"][0].startswith("MoCo v3")
    for name in ("mae", "data2vec", "dinov2", "beit"):
        assert rows[name][1].startswith("image, with tokens: vit_*"), rows[name]
    simclr = rows["simclr"][1]  # a views method: any backbone of a modality with views
    assert simclr.startswith("image or audio: ") and {"resnet*", "vit_*"} <= set(
        simclr.split(": ")[1].split(", ")
    ), simclr
    assert rows["gpt"][1] == "text, with tokens: text_decoder_*"
    assert rows["bert_mlm"][1] == rows["data2vec_text"][1] == "text, with tokens: text_encoder_*"
    assert "method.tokenizer (a vq_tokenizer run)" in rows["beit"][1]
    assert rows["wav2vec2"][1] == rows["hubert"][1] == "audio, with tokens: wav2vec2_*"


def test_backbones_each_get_their_own_sentence() -> None:
    rows = backbone_rows()
    assert [r[0] for r in rows] == BACKBONES.names()
    details = [r[2] for r in rows]
    assert len(set(details)) == len(details)  # no two names share a line
    assert all(d.endswith(".") and not MARKUP.search(d) for d in details), details
    by_name = {name: (kind, d) for name, kind, d in rows}
    assert by_name["text_decoder_tiny"][0] == "text, tokens"
    assert by_name["text_decoder_tiny"][1].startswith("Causal text decoder")
    assert "small: D=256" in by_name["text_encoder_small"][1]
    assert by_name["resnet18"][0] == "image" and by_name["vit_tiny"][0] == "image, tokens"


def test_the_commands_print_every_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["methods"]) == 0 and main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in [*METHODS.names(), *BACKBONES.names()])
    assert "``" not in out and ":class:" not in out


def test_the_readme_names_every_registered_method() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for name in METHODS.names() if f"`{name}`" not in text]
    assert not missing, f"README's methods list lacks {missing}"
