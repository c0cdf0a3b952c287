"""Config loading: YAML + overrides, and one-line errors naming the closest valid key."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfsup.config.load import load_config, save_config
from selfsup.registry import ConfigError

BASE = ["backbone.name=resnet_tiny", "augment.name=simclr", "method.name=simclr"]


def test_overrides_are_typed_and_flattened(tmp_path: Path) -> None:
    cfg = load_config(
        None,
        [
            *BASE,
            "optim.base_lr=1e-3",
            "train.max_epochs=7",
            "method.temperature=0.2",
            "data.path=/x",
            "augment.size=16",
        ],
    )
    assert cfg.optim.base_lr == pytest.approx(1e-3)
    assert cfg.train.max_epochs == 7
    assert cfg.method.args == {"temperature": 0.2}
    assert cfg.data.args == {"path": "/x"}
    save_config(cfg, tmp_path / "c.yaml")
    again = load_config(tmp_path / "c.yaml")
    assert again == cfg


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.max_epoch=3", "unknown key 'train.max_epoch' (did you mean 'max_epochs'?)"),
        ("trian.seed=1", "unknown section 'trian' (did you mean 'train'?)"),
        ("train.max_epochs=ten", "'train.max_epochs' expects int, got str 'ten'"),
        ("optim.name=adam", "'optim.name' expects"),
        ("data.batch_size=0", "data.batch_size must be >= 1"),
        ("eval.collapse_threshold=1.5", "eval.collapse_threshold must be in (0, 1)"),
        ("train.seed", "must look like section.key=value"),
        ("train.precision=fp13", "train.precision 'fp13' is not one of auto, 32-true"),
        ("train.precision=bf16", "(did you mean 'bf16-true'?)"),
        ("train.accelerator=tpu", "train.accelerator 'tpu' is not one of auto, cpu"),
        ("train.devices=abc", "train.devices must be a count >= 1, -1 (all), 'auto'"),
        ("train.devices=0", "train.devices must be a count"),
        ("train.max_minutes=-1", "train.max_minutes must be > 0"),
        ("train.max_steps=0", "train.max_steps must be >= 1 (or -1: no cap)"),
        ("train.num_nodes=0", "train.num_nodes must be >= 1"),
        ("train.log_every_n_steps=0", "train.log_every_n_steps must be >= 1"),
    ],
)
def test_config_errors_are_one_line(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, [*BASE, override])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("devices", ["auto", "2", "0,1", "-1"])
def test_device_lists_lightning_accepts_pass(devices: str) -> None:
    assert load_config(None, [*BASE, f"train.devices={devices}"]).train.devices is not None


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"missing key 'backbone\.name'"):
        load_config(None, ["augment.name=simclr", "method.name=simclr"])


def test_a_config_without_augment_section_makes_no_views() -> None:
    cfg = load_config(None, ["backbone.name=text_decoder_tiny", "method.name=gpt"])
    assert cfg.augment.name == "none" and cfg.augment.args == {}
    with pytest.raises(ConfigError, match=r"missing key 'augment\.name'"):
        load_config(None, ["augment.size=8", "backbone.name=x", "method.name=simclr"])
