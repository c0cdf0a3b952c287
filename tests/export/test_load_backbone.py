"""``selfsup.load_backbone``: a run directory, a checkpoint and an export folder all give the
run's encoder, in eval mode, embedding raw input exactly as evaluation does."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import selfsup
from run_helpers import tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.data.text_datasets import TokenizedSentences
from selfsup.engine.checkpoint import latest_checkpoint
from selfsup.engine.load import load_method
from selfsup.engine.run import pretrain
from selfsup.export import PretrainedEncoder, export_checkpoint
from selfsup.registry import ConfigError
from untrusted_helpers import pickled_payload, poisoned_copy


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = load_config(None, [*tiny_digits_simclr(), "train.max_steps=1"])
    return pretrain(cfg, run_dir=tmp_path_factory.mktemp("run") / "digits").run_dir


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("text")
    words = ["a dull film", "a good film"]
    rows = ["label\tsentence", *(f"{i % 2}\t{words[i % 2]} {i}" for i in range(24))]
    (root / "train.tsv").write_text("\n".join(rows) + "\n")
    cfg = load_config(
        None,
        [
            "data.source=tsv",
            f"data.path={root / 'train.tsv'}",
            "data.max_len=16",
            "data.batch_size=8",
            "backbone.name=text_encoder_tiny",
            "backbone.dim=32",
            "backbone.depth=1",
            "backbone.heads=2",
            "backbone.max_len=16",
            "method.name=bert_mlm",
            "optim.name=adamw",
            "train.max_steps=1",
            "train.progress=false",
            "eval.knn_every_n_epochs=0",
        ],
    )
    return pretrain(cfg, run_dir=root / "bert").run_dir


def _digits(n: int = 5, side: int = 8) -> torch.Tensor:
    g = torch.Generator().manual_seed(4)
    return torch.randint(0, 256, (n, 1, side, side), dtype=torch.uint8, generator=g)


def test_run_checkpoint_and_export_folder_give_the_run_features(image_run: Path) -> None:
    method, _ = load_method(image_run)
    x = _digits()
    with torch.no_grad():
        expected = method.embed(x)
    export = export_checkpoint(image_run, "safetensors").folder
    ckpt = latest_checkpoint(image_run)
    sources = [image_run, ckpt, export, export / "selfsup-encoder.json", str(export)]
    for source in sources:
        encoder = selfsup.load_backbone(source)
        assert isinstance(encoder, PretrainedEncoder) and not encoder.training
        assert not encoder.backbone.training
        assert torch.allclose(encoder.embed(x), expected, atol=1e-6), source
        assert torch.allclose(encoder.preprocess(x), method.eval_input(x))
        assert encoder.info.backbone == "resnet_tiny" and encoder.feature_dim == 256
    assert export == image_run / "export" / "safetensors"


def test_only_the_backbone_is_kept(image_run: Path) -> None:
    encoder = selfsup.load_backbone(image_run)
    method, _ = load_method(image_run)
    assert sum(p.numel() for p in encoder.parameters()) < sum(
        p.numel() for p in method.parameters()
    )  # the projection head stayed behind
    assert set(encoder.state_dict()) == {f"backbone.{k}" for k in method.backbone.state_dict()}


def test_text_encoders_tokenize_strings_as_evaluation_does(text_run: Path) -> None:
    method, _ = load_method(text_run)
    tok = method.encoder().tokenizer
    texts = ["a good film", "a dull film that goes on and on and on"]
    ids = TokenizedSentences(texts, [0, 0], tok, max_len=16).ids
    with torch.no_grad():
        expected = method.embed(ids)
    export = export_checkpoint(text_run, "safetensors").folder
    assert (export / "tokenizer.json").is_file()
    for source in (text_run, export):
        encoder = selfsup.load_backbone(source)
        assert torch.allclose(encoder.embed(texts), expected, atol=1e-5)
        assert torch.allclose(encoder.embed(ids), expected, atol=1e-5)  # ids pass through
        assert encoder.tokenizer.to_json() == tok.to_json()


def test_a_crafted_checkpoint_is_refused_before_its_payload_runs(
    image_run: Path, tmp_path: Path
) -> None:
    bad_run, marker = poisoned_copy(image_run, tmp_path)
    with pytest.raises(ConfigError) as e:
        selfsup.load_backbone(bad_run)
    assert "refused checkpoint" in str(e.value) and "\n" not in str(e.value)
    assert not marker.exists()


def test_a_pickle_named_safetensors_is_refused(image_run: Path, tmp_path: Path) -> None:
    export = export_checkpoint(image_run, "safetensors", tmp_path / "export").folder
    marker = tmp_path / "payload-ran"
    pickled_payload(export / "backbone.safetensors", marker)
    with pytest.raises(ConfigError) as e:
        selfsup.load_backbone(export)
    message = str(e.value)
    assert "refused" in message and "not a safetensors file" in message and "\n" not in message
    assert not marker.exists()


def test_weights_that_do_not_fit_get_one_line(image_run: Path, tmp_path: Path) -> None:
    export = export_checkpoint(image_run, "safetensors", tmp_path / "export").folder
    from safetensors.torch import save_file

    save_file({"model.conv1.weight": torch.zeros(1)}, str(export / "backbone.safetensors"))
    with pytest.raises(ConfigError, match="does not fit resnet_tiny") as e:
        selfsup.load_backbone(export)
    assert "\n" not in str(e.value)


def test_a_missing_path_gets_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="checkpoint not found"):
        selfsup.load_backbone(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="no checkpoint in run directory"):
        selfsup.load_backbone(tmp_path)
