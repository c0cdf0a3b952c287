"""docs/curriculum.md's YAML examples are valid: each builds its curriculum (or self-paced
settings) on top of the CPU preset of the method it names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from selfsup.config.curriculum import scheduled_keys
from selfsup.config.load import load_config
from selfsup.engine.build import build_method
from selfsup.engine.curriculum import Curriculum
from selfsup.engine.self_paced import check_self_paced

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "curriculum.md"
BLOCKS = [
    yaml.safe_load(b)
    for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
]


def overrides(block: dict[str, Any]) -> list[str]:
    flat = []
    for section, keys in block.items():
        for key, value in keys.items():
            text = yaml.safe_dump(value, default_flow_style=True).strip()
            flat.append(f"{section}.{key}={text}")
    return flat


def test_the_doc_has_its_examples() -> None:
    assert len(BLOCKS) == 3 and "self_paced" in BLOCKS[-1]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: "-".join(b))
def test_each_example_builds(block: dict[str, Any]) -> None:
    method = block.get("method", {}).get("name", "simclr")
    cfg = load_config(ROOT / "configs" / f"{method}-cifar10-cpu.yaml", overrides(block))
    built = build_method(cfg)
    keys = scheduled_keys(cfg)
    if "self_paced" in block:
        assert cfg.self_paced.enabled
        check_self_paced(cfg, built)
    else:
        assert keys
        curriculum = Curriculum(cfg, keys, built)
        assert curriculum.apply(built, 1.0)
