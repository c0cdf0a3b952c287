"""CLIP through the engine on a pairs manifest the test writes (digit PNGs <-> digit words):
trains with a held-out loss, reloads from its run, evaluates both ways from the CLI; towers
of the wrong modality and a pretrained text tower's tokenizer are checked up front."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from clip_run_helpers import WORDS, clip_overrides, digit_pairs
from selfsup.cli import main
from selfsup.config.load import load_config
from selfsup.data.bundled import load_digits
from selfsup.engine.build import build_method
from selfsup.engine.load import load_method
from selfsup.engine.run import pretrain
from selfsup.registry import ConfigError
from text_run_helpers import tiny_text_run


def test_clip_trains_reloads_and_evaluates_both_ways(tmp_path: Path) -> None:
    manifest = digit_pairs(tmp_path)
    cfg = load_config(None, clip_overrides(manifest, "self_paced.enabled=true"))
    result = pretrain(cfg, run_dir=tmp_path / "clip")
    assert result.global_step == 40
    metrics = (tmp_path / "clip" / "csv").rglob("metrics.csv")
    text = "".join(p.read_text() for p in metrics)
    assert "val_loss" in text and "logit_scale" in text and "self_paced/kept" in text
    method, _ = load_method(tmp_path / "clip")  # the text tower's tokenizer rides along
    assert method.tower_b.tokenizer.to_json() == result.method.tower_b.tokenizer.to_json()
    out = tmp_path / "crossmodal.json"
    assert (
        main(["eval", "crossmodal", "--checkpoint", str(tmp_path / "clip"), "--out", str(out)]) == 0
    )
    got = json.loads(out.read_text())
    assert got["pairs"] == 40 and got["image->text queries"] == 40
    assert got["text->image queries"] == len(
        {WORDS[int(y)] for y in load_digits("all").labels[160:200]}
    )
    assert got["zero-shot top-1 (prompts)"] > 0.3  # chance: 0.1


def test_towers_must_encode_their_sides(tmp_path: Path) -> None:
    manifest = digit_pairs(tmp_path, 4, 2)
    swapped = clip_overrides(manifest, "data.a={modality: text, column: caption}")
    with pytest.raises(ConfigError, match=r"backbone encodes image but data\.a holds text"):
        build_method(load_config(None, swapped))
    wrong_tower = clip_overrides(manifest, "method.tower_b={name: resnet_tiny}")
    with pytest.raises(ConfigError, match=r"method\.tower_b encodes image but data\.b holds text"):
        build_method(load_config(None, wrong_tower))
    no_pairs = [o for o in clip_overrides(manifest) if not o.startswith("data.")]
    no_pairs.append("data.source=digits")
    with pytest.raises(ConfigError, match="trains on paired items"):
        build_method(load_config(None, no_pairs))
    both = clip_overrides(manifest, "method.tower_b={name: resnet_tiny, from: x}")
    with pytest.raises(ConfigError, match="exactly one of 'name'"):
        build_method(load_config(None, both))
    bad_key = clip_overrides(manifest, "method.tower_b={name: text_encoder_tiny, dimm: 3}")
    with pytest.raises(ConfigError, match="dimm"):
        build_method(load_config(None, bad_key))


def test_a_pretrained_text_tower_is_loaded_with_its_tokenizer(tmp_path: Path) -> None:
    mlm = tiny_text_run(tmp_path, "bert_mlm", steps=2).run_dir
    manifest = digit_pairs(tmp_path, 8, 4)
    tower = {"method.tower_b": f"method.tower_b={{from: {mlm}}}"}
    own = clip_overrides(manifest, tower["method.tower_b"])
    with pytest.raises(ConfigError, match="another tokenizer"):
        build_method(load_config(None, own))
    encoder = load_method(mlm)[0].encoder()
    tok_file = tmp_path / "tokenizer.json"
    tok_file.write_text(encoder.tokenizer.to_json())
    cfg = load_config(
        None, clip_overrides(manifest, tower["method.tower_b"], tokenizer=str(tok_file))
    )
    method = build_method(cfg)
    for name, value in encoder.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(method.tower_b.state_dict()[name], value), name
