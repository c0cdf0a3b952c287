"""``selfsup eval pseudolabel``: pseudo-label refinement with a fine-tuned labeller (default, on
images or audio clips) or a linear probe (on cached frozen features); both report the held-out
gain."""

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
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    import torch

    from selfsup.cli.eval.context import EvalContext
    from selfsup.eval.pseudo_label import PseudoLabelResult


def run(ctx: EvalContext) -> dict[str, Any]:
    """Run the ``--labeller`` recipe; a flat result dict naming the labeller."""
    if ctx.args.labeller == "linear":
        return _linear(ctx)
    return _finetune(ctx)


def split_labels(labels: torch.Tensor, ctx: EvalContext) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(labelled, pool)`` of ``--train`` when no ``--unlabeled`` is given: a few
    class-balanced labels are kept, the rest form the pool (whose labels only score the pseudo
    labels, never train)."""
    import torch

    from selfsup.eval.fewshot import sample_few_labels

    a = ctx.args
    if not has_few_labels(a):
        raise ConfigError("eval pseudolabel needs --unlabeled, or --labels/--fraction/--per-class")
    keep = sample_few_labels(labels, 0, a.per_class, a.fraction, a.labels)
    mask = torch.ones(len(labels), dtype=torch.bool)
    mask[keep] = False
    return keep, mask.nonzero().flatten()


def _linear(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.eval.features import Features
    from selfsup.eval.pseudo_label import pseudo_label_refine

    a = ctx.args
    train, test = ctx.features(a.train), ctx.features(a.test)
    if a.unlabeled is not None:
        labeled, pool = train, ctx.features(a.unlabeled)
    else:
        keep, rest = split_labels(train.labels, ctx)
        labeled = Features(train.features[keep], train.labels[keep])
        pool = Features(train.features[rest], train.labels[rest])
    r = pseudo_label_refine(
        labeled,
        pool,
        test,
        fraction=a.pseudo_fraction,
        epochs=a.epochs or 100,
        balanced=not a.no_class_balance,
    )
    return {**_summary(r, len(labeled), len(pool)), "weight_decay": r.weight_decay}


def _finetune(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.eval.finetune import load_images
    from selfsup.eval.pseudo_label_finetune import pseudo_label_finetune

    a = ctx.args
    cfg = finetune_config(a)
    # The encoder's modality batches the sets (audio: one NaN padding per set, not a stack).
    train = load_images(ctx.dataset(a.train), collate_fn=ctx.collate)
    test = load_images(ctx.dataset(a.test), collate_fn=ctx.collate)
    if a.unlabeled is not None:
        labeled, pool = train, load_images(ctx.dataset(a.unlabeled), collate_fn=ctx.collate)
    else:
        keep, rest = split_labels(train[1], ctx)
        labeled = (train[0][keep], train[1][keep])
        pool = (train[0][rest], train[1][rest])
    r = pseudo_label_finetune(
        ctx.method.encoder(),
        ctx.method.eval_input,
        labeled,
        pool,
        test,
        fraction=a.pseudo_fraction,
        config=cfg,
        device=a.device,
        batch_size=a.batch_size,
        balanced=not a.no_class_balance,
    )
    return {**_summary(r, len(labeled[0]), len(pool[0])), "epochs": cfg.epochs}


def _summary(r: PseudoLabelResult, labeled: int, pool: int) -> dict[str, Any]:
    return {
        "labeller": r.labeller,
        "class_balanced": r.class_balanced,
        "baseline_top1": r.baseline_accuracy,
        "refined_top1": r.refined_accuracy,
        "gain": r.gain,
        "pseudo_labels": r.pseudo_labels,
        "labeled": labeled,
        "pool": pool,
        "pseudo_label_accuracy": r.pseudo_label_accuracy,
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The pool, the labeller and its recipe, and the label budget."""
    p.add_argument(
        "--unlabeled", default=None, help="the unlabeled pool (default: rest of --train)"
    )
    p.add_argument("--pseudo-fraction", type=float, default=0.5, help="top share pseudo-labeled")
    p.add_argument(
        "--no-class-balance",
        action="store_true",
        help="take the most confident overall, not per predicted class",
    )
    p.add_argument(
        "--labeller",
        choices=("finetune", "linear"),
        default="finetune",
        help="fine-tuned network or linear probe on frozen features",
    )
    add_epochs(p, "probe iterations (default 100) / fine-tune epochs (default 30)")
    add_finetune_arguments(p)
    add_few_label_arguments(p)


PROTOCOL = EvalProtocol(
    "pseudolabel",
    "pseudo-label refinement: the gain over the labelled baseline",
    run,
    add_arguments,
    ("train", "test"),
    needs_help="--train, --test and --unlabeled, or one of --per-class, --fraction, --labels",
)
