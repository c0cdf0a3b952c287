"""``selfsup eval crossmodal``: retrieval both ways between the two towers of a CLIP run
(R@1/5/10, median rank) and zero-shot classification by the other side's prompts or
exemplars, on the run's pairs manifest (its held-out split by default) or ``--data``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.protocol import EvalProtocol
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext
    from selfsup.data.pairs import PairDataset


def run(ctx: EvalContext) -> dict[str, Any]:
    """Embed every pair of the split with both towers, rank both ways, classify."""
    from selfsup.eval.crossmodal import crossmodal_report

    a, cfg = ctx.args, ctx.cfg
    method: Any = ctx.method  # a two-tower method: checked by run_pairs
    split = a.split or cfg.data.val_split
    data = run_pairs(method, cfg, split, a.data)
    exemplars = None
    if a.zero_shot == "exemplars" or (a.zero_shot == "auto" and data.sides[1] != "text"):
        exemplars = run_pairs(method, cfg, "train", a.data)
    result = crossmodal_report(
        method.embed_pair,
        method.embed_b,
        data,
        zero_shot=a.zero_shot,
        prompt=a.prompt,
        exemplars=exemplars,
        batch_size=a.batch_size,
        device=a.device,
    )
    return {**result, "split": split}


def run_pairs(method: Any, cfg: Any, split: str, path: str | None = None) -> PairDataset:
    """A split of a two-tower run's pairs manifest (or of ``path``, another manifest with its
    columns), text sides read with the trained text tower's tokenizer."""
    from selfsup.data.pairs import load_pairs

    if cfg.data.source != "pairs" or not hasattr(method, "embed_pair"):
        raise ConfigError(
            f"eval crossmodal needs a two-tower run trained on data.source: pairs "
            f"(this one is {cfg.method.name} on {cfg.data.source})"
        )
    args = dict(cfg.data.args)
    if path is not None:
        args["path"] = path
    tokenizer = getattr(method.tower_b, "tokenizer", None) or getattr(
        method.encoder(), "tokenizer", None
    )
    keys = ("label_column", "split_column", "val_fraction")
    kw = {k: args[k] for k in keys if k in args}
    return load_pairs(args["path"], args["a"], args["b"], split, tokenizer=tokenizer, **kw)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The split, and how zero-shot classes are embedded."""
    p.add_argument("--split", default=None, help="train, val or all (default: the run's val)")
    p.add_argument(
        "--zero-shot",
        choices=("auto", "prompts", "exemplars", "off"),
        default="auto",
        help="classes as text prompts (side b is text), as the mean of the training split's "
        "side-b items per class, or not at all; auto: prompts when side b is text",
    )
    p.add_argument("--prompt", default="{}", help="prompt template, e.g. 'a photo of a {}'")


PROTOCOL = EvalProtocol(
    "crossmodal",
    "two-tower retrieval both ways (R@k, median rank) and zero-shot classes",
    run,
    add_arguments,
    needs_help="a CLIP run (--data: another manifest with the run's columns)",
)
