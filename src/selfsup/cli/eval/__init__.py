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
from typing import Any

from selfsup.cli.command import Command
from selfsup.cli.eval.options import add_common_arguments
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
)


def protocols() -> dict[str, EvalProtocol]:
    """Every ``eval`` protocol by name."""
    found = [importlib.import_module(f"{__name__}.{m}").PROTOCOL for m in PROTOCOL_MODULES]
    return {p.name: p for p in found}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """One sub-parser per protocol: the shared arguments plus the protocol's own."""
    sub = p.add_subparsers(dest="protocol", required=True, metavar="PROTOCOL")
    for protocol in protocols().values():
        q = sub.add_parser(protocol.name, help=protocol.help, description=protocol.help)
        add_common_arguments(q)
        protocol.add_arguments(q)


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
        raise ConfigError(f"eval {args.protocol}: {e}") from None
    result = {"protocol": args.protocol, **result, "checkpoint": str(ctx.ckpt)}
    for name in ("train", "test", "data", "unlabeled"):
        if getattr(args, name, None) is not None:
            result[name] = getattr(args, name)
    print_results(f"{args.protocol} evaluation of {ctx.ckpt.name}", result)
    print(f"results: {write_results(result, ctx.out)}")
    return 0


COMMAND = Command(
    "eval",
    "evaluate a checkpoint (frozen features, fine-tuning, health)",
    add_arguments,
    run_eval,
)
