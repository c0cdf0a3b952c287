"""``selfsup eval linear``: a linear probe on frozen features (LR and weight decay searched)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.options import add_epochs
from selfsup.cli.eval.protocol import EvalProtocol

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def run(ctx: EvalContext) -> dict[str, Any]:
    """Fit on ``--train`` features, score on ``--test``."""
    from selfsup.eval.linear import linear_probe

    a = ctx.args
    train, test = ctx.features(a.train), ctx.features(a.test)
    r = linear_probe(train, test, epochs=a.epochs or 100)
    return {
        "linear_top1": r.test_accuracy,
        "val_top1": r.val_accuracy,
        "best_lr": r.best_lr,
        "best_weight_decay": r.best_wd,
        "train_size": len(train),
        "test_size": len(test),
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Probe iterations."""
    add_epochs(p, "probe iterations (default 100)")


PROTOCOL = EvalProtocol(
    "linear", "linear probe on frozen features", run, add_arguments, ("train", "test")
)
