"""Dotted overrides inside nested mappings (a pairs side, a second tower, a schedule) set one
entry and keep the rest; a wrong nested key is one line with the closest valid name."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfsup.cli import main
from selfsup.config.load import apply_overrides, load_config, read_yaml, save_config
from selfsup.engine.build import validate
from selfsup.registry import ConfigError

PRESET = Path(__file__).resolve().parents[2] / "configs" / "clip-speech-text-cpu.yaml"


def test_nested_keys_override_one_entry_and_keep_the_others(tmp_path: Path) -> None:
    cfg = load_config(
        PRESET,
        ["data.b.max_len=16", "data.a.max_seconds=1.5", "method.tower_b.dim=32"],
    )
    validate(cfg)
    b, a = cfg.data.args["b"], cfg.data.args["a"]
    assert b == {
        "modality": "text",
        "column": "text",
        "tokenizer": "wordpiece",
        "vocab_size": 2000,
        "max_len": 16,
    }
    assert a["max_seconds"] == 1.5 and a["sample_rate"] == 8000
    tower = cfg.method.args["tower_b"]
    assert tower == {"name": "text_encoder_tiny", "dim": 32, "depth": 2, "heads": 2, "max_len": 24}
    save_config(cfg, tmp_path / "c.yaml")  # a run's config.yaml keeps the nested values
    assert load_config(tmp_path / "c.yaml") == cfg


def test_the_preset_as_read_is_not_changed_by_nested_overrides() -> None:
    raw = read_yaml(PRESET)
    before = repr(raw)
    merged = apply_overrides(raw, ["data.b.max_len=16", "method.tower_b.dim=32"])
    assert repr(raw) == before
    assert merged["data"]["b"]["max_len"] == 16 and raw["data"]["b"]["max_len"] == 24


def test_a_missing_level_is_made_and_schedules_take_nested_keys() -> None:
    merged = apply_overrides(
        {"method": {"mask_ratio": {"schedule": "linear", "start": 0.5, "end": 0.75}}},
        ["method.mask_ratio.end=0.9", "data.b.column=caption", "method.x.y.z=1"],
    )
    assert merged["method"]["mask_ratio"] == {"schedule": "linear", "start": 0.5, "end": 0.9}
    assert merged["data"] == {"b": {"column": "caption"}}
    assert merged["method"]["x"] == {"y": {"z": 1}}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "data.b.max_lenn=16",
            "unknown key data.b.max_lenn for a text side (did you mean 'max_len'?)",
        ),
        (
            "data.a.sample_ratee=8000",
            "unknown key data.a.sample_ratee for an audio side (did you mean 'sample_rate'?)",
        ),
        (
            "method.tower_b.dimm=3",
            "unknown key 'method.tower_b.dimm' for backbone 'text_encoder_tiny' "
            "(did you mean 'dim'?)",
        ),
        ("data.b.max_len=2", "data.b.max_len must be >= 3"),
        ("method.tower_b.from=/x", "exactly one of 'name' (a backbone) or 'from' (a run)"),
        (
            "data.path.x=1",
            "override 'data.path.x': data.path is '/tmp/speech-pairs/pairs.tsv', not a mapping",
        ),
        ("data.b.=1", "must look like section.key (e.g. train.max_epochs) or section.key.sub"),
    ],
)
def test_wrong_nested_keys_are_one_line(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate(load_config(PRESET, [override]))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_cli_reports_a_wrong_nested_key_before_reading_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The manifest does not exist: the key is checked before any data would be read.
    code = main(
        ["pretrain", str(PRESET), "data.path=/nonexistent/pairs.tsv", "data.b.vocab_sise=10"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert "data.b.vocab_sise" in err[0] and "did you mean 'vocab_size'?" in err[0]
