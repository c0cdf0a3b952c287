"""``selfsup quickstart``: SimCLR on the bundled 8x8 digits, then one comparison table.

Rows: raw pixels, the same backbone at random init, and the pretrained backbone; columns: kNN
and linear-probe accuracy on the fixed digits test split. Runs on 2 CPU cores in minutes and
needs no download (the digits ship with scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from selfsup.cli.command import Command

PRESET = "quickstart-digits"  # configs/quickstart-digits.yaml: kNN k and T from its eval section


def quickstart_config(
    output_dir: str = "runs", epochs: int | None = None, overrides: list[str] | None = None
) -> Any:
    """The quickstart's run config (a normal RunConfig: it can be saved and rerun)."""
    from selfsup.config.load import apply_overrides, build_config, read_yaml
    from selfsup.config.presets import preset_path

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    extra = [f"train.output_dir={output_dir}", f"train.run_name=quickstart-{stamp}"]
    if epochs is not None:
        extra.append(f"train.max_epochs={epochs}")
    raw = read_yaml(preset_path(PRESET))
    return build_config(apply_overrides(raw, [*extra, *(overrides or [])]))


def _evaluate(encode: Any, train: Any, test: Any, k: int, t: float) -> dict[str, float]:
    from selfsup.eval.protocols import extract_splits, knn_protocol, linear_protocol

    splits = extract_splits(encode, train, test)
    return {**knn_protocol(splits, k=k, temperature=t), **linear_protocol(splits)}


def starting_network(cfg: Any, train: Any) -> Any:
    """The network pretraining starts from: same seed, and a whitened stem where it asks for one."""
    import lightning as L

    from selfsup.engine.build import build_method
    from selfsup.engine.stem_init import init_stem

    L.seed_everything(cfg.train.seed, verbose=False)
    method = build_method(cfg)
    init_stem(method, cfg, train)
    return method.eval()


def run_quickstart(
    output_dir: str = "runs",
    epochs: int | None = None,
    overrides: list[str] | None = None,
    show: bool = True,
) -> dict[str, Any]:
    """Pretrain, evaluate the three rows, print the table, and save it as JSON in the run dir."""
    from selfsup.engine.build import build_split
    from selfsup.engine.run import pretrain
    from selfsup.eval.protocols import raw_pixels

    cfg = quickstart_config(output_dir, epochs, overrides)
    train, test = build_split(cfg, "train"), build_split(cfg, "val")
    k, t = cfg.eval.knn_k, cfg.eval.knn_temperature

    random_init = starting_network(cfg, train)
    rows: dict[str, dict[str, float]] = {
        "raw pixels": _evaluate(raw_pixels, train, test, k, t),
        "random init": _evaluate(random_init.embed, train, test, k, t),
    }
    start = time.perf_counter()
    result = pretrain(cfg)
    train_seconds = time.perf_counter() - start
    rows["pretrained"] = _evaluate(result.method.eval().embed, train, test, k, t)

    summary = {
        "rows": rows,
        "pretrain_seconds": train_seconds,
        "run_dir": str(result.run_dir),
        "knn": {"k": k, "temperature": t},
        "epochs": cfg.train.max_epochs,
    }
    Path(result.run_dir, "quickstart.json").write_text(json.dumps(summary, indent=2))
    if show:
        _print_table(rows, train_seconds, result.run_dir, k)
    return summary


def _print_table(rows: dict[str, dict[str, float]], seconds: float, run_dir: Path, k: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"digits test accuracy (pretraining took {seconds:.0f} s)")
    table.add_column("encoder", style="bold")
    table.add_column(f"kNN (k={k})", justify="right")
    table.add_column("linear probe", justify="right")
    for name, r in rows.items():
        table.add_row(name, f"{100 * r['knn_top1']:.1f}%", f"{100 * r['linear_top1']:.1f}%")
    console = Console()
    console.print(table)
    console.print(f"run directory: {run_dir}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("--output-dir", default="runs", help="where the run directory goes")
    p.add_argument("--epochs", type=int, default=None, help="pretraining epochs (default: preset)")
    p.add_argument("overrides", nargs="*", help="section.key=value overrides, e.g. train.seed=1")


def run(args: argparse.Namespace) -> int:
    """Run the quickstart and print its table."""
    run_quickstart(output_dir=args.output_dir, epochs=args.epochs, overrides=args.overrides)
    return 0


COMMAND = Command(
    "quickstart", "SimCLR on the bundled digits, then a kNN/linear table", add_arguments, run
)
