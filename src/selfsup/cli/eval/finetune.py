"""``selfsup eval finetune``: fine-tune the whole encoder with a linear head (optionally on a
class-balanced few-label subset of ``--train``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.options import (
    add_epochs,
    add_few_label_arguments,
    add_finetune_arguments,
    finetune_config,
    has_few_labels,
)
from selfsup.cli.eval.protocol import EvalProtocol

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def run(ctx: EvalContext) -> dict[str, Any]:
    """Fine-tune on ``--train`` (early stopping on its held-out share), score on ``--test``."""
    from selfsup.eval.finetune import finetune, load_images

    a = ctx.args
    cfg = finetune_config(a)
    train = load_images(ctx.dataset(a.train), collate_fn=ctx.collate)
    test = load_images(ctx.dataset(a.test), collate_fn=ctx.collate)
    if has_few_labels(a):
        from selfsup.eval.fewshot import sample_few_labels

        # Few-label fine-tuning: a class-balanced subset of --train (seed: the first --seeds).
        keep = sample_few_labels(train[1], a.seeds[0], a.per_class, a.fraction, a.labels)
        train = (train[0][keep], train[1][keep])
    r = finetune(ctx.encoder(), ctx.method.eval_input, train, test, cfg, a.device)
    return {
        "train_labels": len(train[1]),
        "finetune_top1_best": r.test_accuracy_best,
        "finetune_top1_final": r.test_accuracy_final,
        "best_val_top1": r.best_val_accuracy,
        "best_epoch": r.best_epoch,
        "epochs_run": r.epochs_run,
        "val_history": r.val_history,
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Fine-tuning recipe and optional label budget."""
    add_epochs(p, "fine-tune epochs (default 30)")
    add_finetune_arguments(p)
    add_few_label_arguments(p)


PROTOCOL = EvalProtocol(
    "finetune", "fine-tune the encoder with a linear head", run, add_arguments, ("train", "test")
)
