"""``selfsup eval PROTOCOL --checkpoint ...``: every protocol prints a table and writes JSON.

Protocols knn, linear, fewshot, retrieval, tsne and ``pseudolabel --labeller linear`` read frozen
features, extracted once per checkpoint x data x transform and cached in ``<run>/eval/features``;
finetune and pseudolabel (by default) fine-tune the whole encoder; monitors reports label-free
health signals; lm reports a language model's validation loss and perplexity. Text checkpoints
read labelled ``.tsv`` files. Each protocol is a module here with one ``PROTOCOL``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Iterable
from typing import Any

from selfsup.cli.command import Command
from selfsup.cli.eval.options import DATA_FORMS, add_common_arguments
from selfsup.cli.eval.protocol import EvalProtocol
from selfsup.registry import ConfigError

PROTOCOL_MODULES = (
    "knn",
    "linear",
    "finetune",
    "fewshot",
    "retrieval",
    "tsne",
    "monitors",
    "pseudolabel",
    "lm",
    "superb",
    "crossmodal",
)


def protocols() -> dict[str, EvalProtocol]:
    """Every ``eval`` protocol by name."""
    found = [importlib.import_module(f"{__name__}.{m}").PROTOCOL for m in PROTOCOL_MODULES]
    return {p.name: p for p in found}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """One sub-parser per protocol (the shared arguments plus its own); the ``eval`` help
    lists the protocols, one line each, what each needs, and the forms data arguments take."""
    found = list(protocols().values())
    p.formatter_class = _help_format
    p.description = (
        "Evaluate a checkpoint (a .ckpt or a run directory) with one PROTOCOL; each prints a\n"
        "table and writes JSON to RUN/eval/ ('selfsup eval PROTOCOL --help': its options)."
    )
    p.epilog = "\n\n".join([protocol_list(found), protocol_needs(found), DATA_FORMS])
    sub = p.add_subparsers(
        dest="protocol", required=True, metavar="PROTOCOL", help="one of the protocols below"
    )
    for protocol in found:
        # No per-choice help here: the epilog lists them (argparse would wrap long names).
        q = sub.add_parser(
            protocol.name,
            description=f"{protocol.help}.\nneeds: {protocol.requirements()}",
            epilog=DATA_FORMS,
            formatter_class=_help_format,
        )
        add_common_arguments(q)
        protocol.add_arguments(q)


def protocol_list(found: Iterable[EvalProtocol]) -> str:
    """One line per protocol: its name and what it measures."""
    return "protocols:\n" + "\n".join(f"  {p.name:<12} {p.help}" for p in found)


def protocol_needs(found: Iterable[EvalProtocol]) -> str:
    """One line per protocol: its name and what it needs besides ``--checkpoint``."""
    lines = [f"  {p.name:<12} {p.requirements()}" for p in found]
    return "what each needs besides --checkpoint:\n" + "\n".join(lines)


def _help_format(prog: str) -> argparse.HelpFormatter:
    # Keeps the description's and epilog's line breaks.
    return argparse.RawDescriptionHelpFormatter(prog, width=100)


def protocol_error(protocol: str, e: ValueError) -> ConfigError:
    """One line naming the protocol once: ``eval <protocol>: <message>``, unless the message
    already begins with ``eval <protocol>`` (a protocol naming what it needs)."""
    message, prefix = str(e).splitlines()[0] if str(e) else type(e).__name__, f"eval {protocol}"
    return ConfigError(message if message.startswith(prefix) else f"{prefix}: {message}")


def run_eval(args: argparse.Namespace) -> int:
    """Run one protocol, print a table, write JSON."""
    from selfsup.cli.eval.context import EvalContext
    from selfsup.eval.results import print_results, write_results

    protocol = protocols()[args.protocol]
    for name in protocol.needs:
        if getattr(args, name) is None:
            raise ConfigError(f"eval {args.protocol} needs --{name}")
    ctx = EvalContext(args)
    try:
        result: dict[str, Any] = protocol.run(ctx)
    except ValueError as e:  # bad settings or data for this protocol: one line, not a traceback
        if isinstance(e, ConfigError):
            raise
        raise protocol_error(args.protocol, e) from None
    result = {"protocol": args.protocol, **result, "checkpoint": str(ctx.ckpt)}
    if ctx.baseline:
        result["baseline"] = ctx.baseline
    for name in ("train", "test", "data", "unlabeled"):
        if getattr(args, name, None) is not None:
            result[name] = getattr(args, name)
    what = f"the {ctx.baseline} baseline beside {ctx.ckpt.name}" if ctx.baseline else ctx.ckpt.name
    print_results(f"{args.protocol} evaluation of {what}", result)
    print(f"results: {write_results(result, ctx.out)}")
    return 0


COMMAND = Command(
    "eval",
    "evaluate a checkpoint (frozen features, fine-tuning, health)",
    add_arguments,
    run_eval,
)
