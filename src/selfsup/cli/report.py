"""``selfsup report RUN_DIR [--out report.html]``: one self-contained HTML page for a run.

The report itself takes data in; this command composes it: the run's logs, and the t-SNE and
neighbour pictures drawn from its last checkpoint on the run's own validation and train splits.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from selfsup.cli.command import Command
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from selfsup.report.sections_features import FeaturePictures


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("run_dir", help="a run directory written by 'selfsup pretrain'")
    p.add_argument("--out", default=None, help="output HTML (default: RUN_DIR/report.html)")
    p.add_argument(
        "--max-items", type=int, default=1000, help="cap on items embedded for t-SNE/neighbours"
    )
    p.add_argument("--no-features", action="store_true", help="skip t-SNE and neighbour grid")


def run_pictures(run_dir: str | Path, max_items: int = 1000) -> FeaturePictures:
    """t-SNE and neighbour pictures of a run's last checkpoint (a note instead, on failure)."""
    from selfsup.engine.build import build_split
    from selfsup.engine.load import load_method, resolve_checkpoint
    from selfsup.engine.safe_load import UntrustedCheckpointError
    from selfsup.report.sections_features import FeaturePictures, feature_pictures, first_line

    try:
        ckpt = resolve_checkpoint(run_dir)
        method, cfg = load_method(ckpt)
        if not cfg.data.val_split:
            note = "the config has no data.val_split: t-SNE and neighbours skipped"
            return FeaturePictures(notes=[note])
        val = build_split(cfg, cfg.data.val_split)
        bank = build_split(cfg, cfg.data.train_split)
    except UntrustedCheckpointError:
        raise  # never a note: the user must know the file was refused
    except (ConfigError, ValueError, OSError, RuntimeError, KeyError) as e:
        note = f"features unavailable ({first_line(e)}): t-SNE and neighbours skipped"
        return FeaturePictures(notes=[note])
    return feature_pictures(method.embed, val, bank, checkpoint=ckpt.name, max_items=max_items)


def make_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    features: bool = True,
    max_items: int = 1000,
) -> Path:
    """Write the report of ``run_dir`` (with feature pictures unless ``features`` is False)."""
    from selfsup.report.html import write_report

    if max_items < 4:
        raise ConfigError(f"--max-items must be >= 4, got {max_items}")
    pictures = run_pictures(run_dir, max_items) if features else None
    try:
        return write_report(run_dir, out, pictures)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def run_report(args: argparse.Namespace) -> int:
    """Write the report and print its path."""
    path = make_report(args.run_dir, args.out, not args.no_features, args.max_items)
    print(f"report: {path}")
    return 0


COMMAND = Command(
    "report",
    "write an HTML report (curves, t-SNE, neighbours) of a run",
    add_arguments,
    run_report,
)
