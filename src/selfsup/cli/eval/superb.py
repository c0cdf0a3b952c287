"""``selfsup eval superb``: the SUPERB protocol on a frozen encoder: a learned softmax-weighted
sum of all its layers, mean-pooled over real frames, then a linear head (utterance tasks such
as spoken digits or speaker identity)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.options import add_epochs
from selfsup.cli.eval.protocol import EvalProtocol

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def run(ctx: EvalContext) -> dict[str, Any]:
    """Pool every layer of ``--train`` and ``--test`` once (cached), fit the weighted-sum
    probe on train, score on test; the learned layer weights are part of the result."""
    from selfsup.eval.superb import layer_names, pooled_layers, superb_probe

    a, encoder = ctx.args, ctx.encoder()
    layers = pooled_layers(encoder, ctx.method.eval_input if ctx.baseline != "mfcc" else None)
    train = ctx.cached_features(a.train, layers, "superb.pooled_layers")
    test = ctx.cached_features(a.test, layers, "superb.pooled_layers")
    num_layers = train.dim // int(encoder.feature_dim)
    r = superb_probe(train, test, num_layers, epochs=a.epochs or 100, lr=a.lr, seed=a.seed)
    names = layer_names(encoder, num_layers)
    return {
        "superb_top1": r.test_accuracy,
        "val_top1": r.val_accuracy,
        "best_epoch": r.best_epoch,
        "layers": num_layers,
        **{f"weight_{n}": w for n, w in zip(names, r.layer_weights, strict=True)},
        "train_size": len(train),
        "test_size": len(test),
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Probe epochs, learning rate and seed."""
    add_epochs(p, "probe epochs (default 100; the best validation epoch is kept)")
    p.add_argument("--lr", type=float, default=1e-2, help="AdamW peak learning rate of the probe")
    p.add_argument("--seed", type=int, default=0, help="validation split and head init")


PROTOCOL = EvalProtocol(
    "superb",
    "SUPERB probe: softmax-weighted sum of all layers + linear head",
    run,
    add_arguments,
    ("train", "test"),
)
