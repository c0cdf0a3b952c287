"""``selfsup eval fewshot``: linear (and optionally kNN) probes on class-balanced label subsets,
mean and spread over seeds."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.options import add_epochs, add_few_label_arguments, has_few_labels
from selfsup.cli.eval.protocol import EvalProtocol
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def run(ctx: EvalContext) -> dict[str, Any]:
    """Probe each seed's subset of ``--train``; score on ``--test``."""
    from selfsup.eval.fewshot import fewshot_evaluate

    a = ctx.args
    if not has_few_labels(a):
        raise ConfigError("eval fewshot needs --per-class N, --fraction F or --labels COUNT")
    train, test = ctx.features(a.train), ctx.features(a.test)
    r = fewshot_evaluate(
        train,
        test,
        seeds=a.seeds,
        per_class=a.per_class,
        fraction=a.fraction,
        count=a.labels,
        knn_k=a.k if a.with_knn else None,
        epochs=a.epochs or 100,
    )
    return {
        **r.summary(),
        "labels_used": r.labels_used,
        "of_labels": len(train),
        "seeds": list(a.seeds),
        "per_seed": r.per_seed,
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Label budget, seeds, probe iterations, optional kNN."""
    add_few_label_arguments(p)
    add_epochs(p, "probe iterations (default 100)")
    p.add_argument("--with-knn", action="store_true", help="also a kNN probe")
    p.add_argument("--k", type=int, default=200, help="kNN neighbours (with --with-knn)")


PROTOCOL = EvalProtocol(
    "fewshot",
    "probes on a few labels, over seeds",
    run,
    add_arguments,
    ("train", "test"),
    needs_help="--train, --test and one of --per-class, --fraction, --labels",
)
