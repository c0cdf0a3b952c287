"""``selfsup eval knn``: weighted kNN top-1/top-5 on frozen features."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.options import add_index_arguments, add_knn_arguments, index_options
from selfsup.cli.eval.protocol import EvalProtocol

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def run(ctx: EvalContext) -> dict[str, Any]:
    """kNN of ``--test`` against ``--train``."""
    from selfsup.eval.knn import knn_evaluate

    a = ctx.args
    train, test = ctx.features(a.train), ctx.features(a.test)
    r = knn_evaluate(train, test, k=a.k, temperature=a.temperature, index=index_options(a))
    return {
        "knn_top1": r.top1,
        "knn_top5": r.top5,
        "k": r.k,
        "temperature": r.temperature,
        "train_size": len(train),
        "test_size": len(test),
        "index": r.index,
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    """kNN settings and the neighbour search."""
    add_knn_arguments(p)
    add_index_arguments(p)


PROTOCOL = EvalProtocol(
    "knn", "weighted kNN on frozen features", run, add_arguments, ("train", "test")
)
