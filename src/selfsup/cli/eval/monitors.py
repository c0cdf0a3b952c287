"""``selfsup eval monitors``: label-free health of the features (rank, alignment, uniformity)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.protocol import EvalProtocol

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def run(ctx: EvalContext) -> dict[str, Any]:
    """Monitors of ``--data``'s features and of the method's own views of it."""
    from selfsup.eval.monitors import dataset_monitors

    a, method = ctx.args, ctx.method
    feats = ctx.features(a.data)
    encoder = ctx.encoder().eval()

    def views(x: Any, gen: Any) -> list[Any]:
        return method.views({"input": x}, generator=gen)

    return dataset_monitors(
        feats.features,
        ctx.dataset(a.data),
        views,
        encoder.forward_features,
        max_items=a.max_items,
        batch_size=a.batch_size,
        device=a.device,
        collate_fn=ctx.collate,
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """How many items get views."""
    p.add_argument("--max-items", type=int, default=2048, help="items for views")


PROTOCOL = EvalProtocol("monitors", "label-free feature health", run, add_arguments, ("data",))
