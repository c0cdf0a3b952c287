"""What a language model wrote: a short sample for the report, drawn by the caller (the report
never loads checkpoints)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextSample:
    """A prompt and the model's continuation of it, with how it was drawn."""

    prompt: str
    continuation: str
    checkpoint: str | None = None
    settings: str = ""  # e.g. "seed 0 · temperature 0.8 · 200 new tokens"
