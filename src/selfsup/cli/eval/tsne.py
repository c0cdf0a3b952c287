"""``selfsup eval tsne``: a t-SNE map of frozen features, coloured by label, as PNG."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.protocol import EvalProtocol

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def run(ctx: EvalContext) -> dict[str, Any]:
    """Embed ``--data`` (a seeded subsample), project, and save the plot beside the JSON."""
    from selfsup.eval.tsne import compute_tsne, save_tsne_plot, tsne_subsample

    a = ctx.args
    feats = ctx.features(a.data)
    points = compute_tsne(feats.features, seed=0, perplexity=a.perplexity, max_items=a.tsne_items)
    labels = feats.labels.numpy()[tsne_subsample(len(feats), a.tsne_items, seed=0)]
    plot = ctx.out.with_suffix(".png")
    plot.parent.mkdir(parents=True, exist_ok=True)
    save_tsne_plot(points, labels, plot)
    return {"points": len(points), "perplexity": a.perplexity, "plot": str(plot)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """t-SNE settings."""
    p.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    p.add_argument("--tsne-items", type=int, default=5000, help="at most this many points")


PROTOCOL = EvalProtocol("tsne", "t-SNE map of frozen features", run, add_arguments, ("data",))
