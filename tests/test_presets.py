"""Every preset in configs/ is valid; the CPU preset trains on real CIFAR-10 when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfsup.config.load import load_config
from selfsup.data.tokenizers import train_tokenizer
from selfsup.engine.build import build_method, validate
from selfsup.engine.run import pretrain
from selfsup.registry import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "configs").glob("*.yaml"))
CIFAR = ROOT / ".." / "shared" / "data" / "cifar10" / "train"


DATA = ROOT / ".." / "shared" / "data"
# Their tokenizers train on the data.
TEXT_PRESETS = ("gpt-shakespeare-cpu", "bert-sst2-cpu", "data2vec_text-sst2-cpu")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_preset_builds(preset: Path) -> None:
    cfg = load_config(preset)
    validate(cfg)
    # BEiT is stage two of a two-stage workflow: without the stage-one tokenizer run, one line.
    if preset.stem.startswith("beit") and not Path(cfg.method.args["tokenizer"]).exists():
        with pytest.raises(ConfigError, match=r"tokenizer|not found|no checkpoint"):
            build_method(cfg)
        return
    if preset.stem in TEXT_PRESETS and not DATA.is_dir():
        pytest.skip("text presets train their tokenizer on ../shared/data")
    given = {}
    if cfg.data.source == "pairs" and not Path(cfg.data.args["path"]).is_file():
        # The pairs are made locally (the header says how); a stand-in tokenizer builds it.
        given = {"towers": {"tower_b": {"tokenizer": train_tokenizer(["a stand-in line"])}}}
    method = build_method(cfg, **given)
    assert sum(p.numel() for p in method.parameters()) > 0


@pytest.mark.slow
@pytest.mark.skipif(not CIFAR.is_dir(), reason="needs ../shared/data/cifar10")
def test_cpu_preset_trains_on_cifar10(tmp_path: Path) -> None:
    cfg = load_config(
        ROOT / "configs" / "simclr-cifar10-cpu.yaml",
        [
            f"data.path={CIFAR}",
            "data.batch_size=32",
            "train.max_steps=3",
            "train.progress=false",
            "eval.knn_every_n_epochs=0",
            "method.proj_hidden_dim=64",
        ],
    )
    result = pretrain(cfg, run_dir=tmp_path / "run")
    assert result.global_step == 3
    assert result.last_checkpoint is not None and result.last_checkpoint.is_file()
