"""``selfsup`` command line: pretrain, resume, eval, report, visualize, generate, quickstart, and
registry listings."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Callable, Sequence

from selfsup.registry import ConfigError


def _pretrain(args: argparse.Namespace) -> int:
    from selfsup.config.load import load_config
    from selfsup.engine.run import pretrain

    cfg = load_config(args.config, args.overrides)
    result = pretrain(cfg, run_dir=args.run_dir)
    if result.is_global_zero:
        print(f"run directory: {result.run_dir}")
        print(f"last checkpoint: {result.last_checkpoint}")
    return 0


def _resume(args: argparse.Namespace) -> int:
    from selfsup.engine.run import resume_run

    result = resume_run(args.run_dir, args.overrides)
    if result.is_global_zero:
        print(f"run directory: {result.run_dir}")
        print(f"last checkpoint: {result.last_checkpoint}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from selfsup.cli_eval import run_eval

    return run_eval(args)


def _quickstart(args: argparse.Namespace) -> int:
    from selfsup.quickstart import run_quickstart

    run_quickstart(output_dir=args.output_dir, epochs=args.epochs, overrides=args.overrides)
    return 0


def _list(kind: str) -> Callable[[argparse.Namespace], int]:
    def show(args: argparse.Namespace) -> int:
        from selfsup.listing import print_registry

        print_registry(kind)
        return 0

    return show


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``selfsup`` command."""
    parser = argparse.ArgumentParser(prog="selfsup", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("pretrain", help="pretrain an encoder from a YAML config")
    p.add_argument("config", help="YAML preset, e.g. configs/simclr-cifar10.yaml")
    p.add_argument("overrides", nargs="*", help="section.key=value overrides")
    p.add_argument("--run-dir", default=None, help="write here instead of train.output_dir/<name>")
    p.set_defaults(fn=_pretrain)

    p = sub.add_parser("resume", help="continue a run from its last checkpoint")
    p.add_argument("run_dir")
    p.add_argument("overrides", nargs="*", help="e.g. train.max_epochs=200 to train longer")
    p.set_defaults(fn=_resume)

    from selfsup.cli_eval import add_eval_parser

    add_eval_parser(sub, _eval)

    from selfsup import cli_generate, cli_report, cli_visualize

    cli_report.add_parser(sub)
    cli_visualize.add_parser(sub)
    cli_generate.add_parser(sub)

    p = sub.add_parser("quickstart", help="SimCLR on the bundled digits, then a kNN/linear table")
    p.add_argument("--output-dir", default="runs", help="where the run directory goes")
    p.add_argument("--epochs", type=int, default=None, help="pretraining epochs (default: preset)")
    p.add_argument("overrides", nargs="*", help="section.key=value overrides, e.g. train.seed=1")
    p.set_defaults(fn=_quickstart)

    sub.add_parser("methods", help="list registered methods").set_defaults(fn=_list("method"))
    sub.add_parser("backbones", help="list registered backbones").set_defaults(fn=_list("backbone"))
    return parser


def configure_logging(verbose: bool) -> None:
    """selfsup's own messages at INFO; Lightning's start-up chatter only with ``--verbose``."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    ours = logging.getLogger("selfsup")
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG if verbose else logging.INFO)
    import lightning.pytorch  # noqa: F401  (it sets its own log level on import; override after)

    logging.getLogger("lightning.pytorch").setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:  # deprecation notices from inside Lightning are not the user's to act on
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; config problems print one line and exit with code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.fn(args))
    except ConfigError as e:
        print(f"selfsup: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("selfsup: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
