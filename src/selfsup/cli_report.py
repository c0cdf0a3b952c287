"""``selfsup report RUN_DIR [--out report.html]``: one self-contained HTML page for a run."""

from __future__ import annotations

import argparse

from selfsup.registry import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the ``report`` sub-command."""
    p = sub.add_parser("report", help="write an HTML report (curves, t-SNE, neighbours) of a run")
    p.add_argument("run_dir", help="a run directory written by 'selfsup pretrain'")
    p.add_argument("--out", default=None, help="output HTML (default: RUN_DIR/report.html)")
    p.add_argument(
        "--max-items", type=int, default=1000, help="cap on items embedded for t-SNE/neighbours"
    )
    p.add_argument("--no-features", action="store_true", help="skip t-SNE and neighbour grid")
    p.set_defaults(fn=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Write the report and print its path."""
    from selfsup.report.html import write_report

    if args.max_items < 4:
        raise ConfigError(f"--max-items must be >= 4, got {args.max_items}")
    try:
        path = write_report(
            args.run_dir, args.out, features=not args.no_features, max_items=args.max_items
        )
    except ValueError as e:
        raise ConfigError(str(e)) from None
    print(f"report: {path}")
    return 0
