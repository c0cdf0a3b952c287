"""Fixed-seed losses of every CPU preset, to check that a refactor changes no number.

    python benchmarks/bench_preset_losses.py OUT.json [PRESET ...]

Runs each ``configs/*-cpu.yaml`` (or the named ones) for 4 engine steps at seed 0, image presets
on the bundled digits; BEiT uses the vq_tokenizer run made first. Prints and saves each step's
``loss/embedding_std`` as strings; compare two JSON files from two commits for equality.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
import tempfile
import warnings
from pathlib import Path

import yaml

from selfsup.config.load import build_config
from selfsup.engine.run import pretrain

ROOT = Path(__file__).resolve().parents[1]


def preset_losses(name: str, vq_dir: str | None) -> tuple[list[str], str]:
    raw = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())
    if raw["data"]["source"] == "folder":
        raw["data"] = {"source": "digits", "batch_size": 32, "val_split": "val"}
    else:
        raw["data"]["batch_size"] = 8
    raw.setdefault("train", {}).update(
        max_steps=4, max_epochs=1, log_every_n_steps=1, progress=False, seed=0,
        output_dir=tempfile.mkdtemp(), run_name="b", checkpoint_every_n_steps=1000,
        whiten_stem_images=0,
    )  # fmt: skip
    raw["train"].pop("max_minutes", None)
    raw.setdefault("eval", {})["knn_every_n_epochs"] = 0
    if name.startswith("beit") and vq_dir:
        raw["method"]["tokenizer"] = vq_dir
    result = pretrain(build_config(raw))
    rows = []
    for f in sorted((Path(result.run_dir) / "csv").glob("**/metrics.csv")):
        rows += [f"{r['loss']}/{r.get('embedding_std', '')}" for r in csv.DictReader(f.open())
                 if r.get("loss")]  # fmt: skip
    return rows, str(result.run_dir)


def main() -> None:
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    out, only = Path(sys.argv[1]), sys.argv[2:]
    names = sorted(p.stem for p in (ROOT / "configs").glob("*-cpu.yaml"))
    names = sorted(names, key=lambda n: (not n.startswith("vq"), n))  # BEiT needs its tokenizer
    found: dict[str, list[str]] = {}
    vq_dir = None
    for name in names:
        if only and name not in only and not name.startswith("vq"):
            continue
        found[name], run_dir = preset_losses(name, vq_dir)
        vq_dir = run_dir if name.startswith("vq") else vq_dir
        print(name, found[name], flush=True)
    out.write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()
