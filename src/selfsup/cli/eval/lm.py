"""``selfsup eval lm``: a language model's validation loss and perplexity on its run's val
split."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from selfsup.cli.eval.protocol import EvalProtocol
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from selfsup.cli.eval.context import EvalContext


def lm_metrics(method: Any, cfg: Any, batch_size: int) -> dict[str, Any]:
    """Token-weighted validation loss and perplexity over the run's whole val split."""
    from selfsup.engine.build import build_split
    from selfsup.eval.text_probe import language_model_metrics

    lm_loss = getattr(method, "lm_loss", None)
    if lm_loss is None:
        raise ConfigError(f"eval lm needs a language model (gpt), got {type(method).__name__}")
    val = build_split(cfg, cfg.data.val_split)
    return language_model_metrics(lm_loss, val, batch_size=batch_size)


def run(ctx: EvalContext) -> dict[str, Any]:
    """The protocol's runner."""
    return lm_metrics(ctx.method, ctx.cfg, batch_size=min(ctx.args.batch_size, 64))


PROTOCOL = EvalProtocol(
    "lm",
    "language-model loss and perplexity on the run's val split",
    run,
    needs_help="a gpt checkpoint (no data: it reads its run's own val split)",
)
