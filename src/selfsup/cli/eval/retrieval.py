"""``selfsup eval retrieval``: recall@k and mAP, queries against a gallery or leave-one-out."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.options import add_index_arguments, index_options
from selfsup.cli.eval.protocol import EvalProtocol
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def run(ctx: EvalContext) -> dict[str, Any]:
    """``--test`` queries against ``--train`` (or themselves), or ``--data`` leave-one-out."""
    from selfsup.eval.retrieval import retrieval_metrics

    a = ctx.args
    if a.test is None and a.data is None:
        raise ConfigError("eval retrieval needs --test (queries; --train: gallery) or --data")
    search = {"index": index_options(a), "map_depth": a.map_depth}
    if a.test is None:
        r = retrieval_metrics(ctx.features(a.data), **search)  # leave-one-out within one set
        mode = "leave-one-out"
    else:
        gallery = ctx.features(a.train) if a.train else None
        r = retrieval_metrics(ctx.features(a.test), gallery, **search)
        mode = "queries vs gallery" if gallery is not None else "leave-one-out"
    return {**r.as_dict(), "mode": mode}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The neighbour search and the depth of the truncated mAP."""
    add_index_arguments(p)
    p.add_argument(
        "--map-depth", type=int, default=100, help="mAP@DEPTH (faiss indexes report only this)"
    )


PROTOCOL = EvalProtocol(
    "retrieval",
    "recall@k and mAP of same-label neighbours",
    run,
    add_arguments,
    needs_help="--test (queries; --train: the gallery) or --data (leave-one-out)",
)
