"""``selfsup generate --checkpoint RUN_OR_CKPT --prompt "..."``: sample from a trained GPT."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from selfsup.cli.command import Command
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from selfsup.methods.language.gpt import GPT


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("--checkpoint", required=True, help="a .ckpt file or a run directory")
    p.add_argument("--prompt", default="", help="text to continue (empty: start from <eos>)")
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--temperature", type=float, default=1.0, help="0 picks the likeliest token")
    p.add_argument("--top-k", type=int, default=None, help="sample among the k likeliest")
    p.add_argument("--seed", type=int, default=0)


def generate_text(
    checkpoint: str,
    prompt: str,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> str:
    """The prompt followed by ``max_new_tokens`` sampled tokens, decoded with the run's
    tokenizer (loaded from the checkpoint)."""
    from selfsup.engine.load import load_method

    check_settings(max_new_tokens, temperature, top_k)
    method, _ = load_method(checkpoint)
    tok = language_model(method).text.tokenizer
    ids = tok.encode(prompt) or [tok.eos_id]
    return tok.decode(ids + sample_ids(method, ids, max_new_tokens, temperature, top_k, seed))


def check_settings(max_new_tokens: int, temperature: float, top_k: int | None) -> None:
    """ConfigError unless the sampling settings are usable."""
    if max_new_tokens < 0 or temperature < 0 or (top_k is not None and top_k < 1):
        raise ConfigError("--max-new-tokens and --temperature must be >= 0, --top-k >= 1")


def language_model(method: Any) -> GPT:
    """``method`` as the GPT it must be to generate (a ConfigError for any other method)."""
    from selfsup.methods.language.gpt import GPT

    if not isinstance(method, GPT):
        raise ConfigError(f"{type(method).__name__} checkpoints cannot generate; use a gpt run")
    return method


def sample_ids(
    method: Any,
    prompt_ids: list[int],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> list[int]:
    """The ``max_new_tokens`` ids a GPT ``method`` samples after ``prompt_ids``; the same
    ``seed`` draws the same ids."""
    import torch

    gpt = language_model(method)
    g = torch.Generator().manual_seed(seed)
    out = gpt.generate(torch.tensor([prompt_ids]), max_new_tokens, temperature, top_k, g)
    return [int(i) for i in out[0, len(prompt_ids) :].tolist()]


def run_generate(args: argparse.Namespace) -> int:
    """CLI entry: print the generated text."""
    print(
        generate_text(
            args.checkpoint,
            args.prompt,
            args.max_new_tokens,
            args.temperature,
            args.top_k,
            args.seed,
        )
    )
    return 0


COMMAND = Command(
    "generate",
    "continue a prompt with a trained language model",
    add_arguments,
    run_generate,
)
