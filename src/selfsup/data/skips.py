"""Count files that could not be used, and say so once.

A dataset with a handful of broken files should train, not crash, but the user must hear about
it: one warning line with counts by reason and the first few offending paths, e.g.
``skipped 3 of 50,003 files: 2 truncated, 1 not an image (first: a.jpg, b.jpg, c.png)``.
Items that are odd but usable (clipped or silent audio) are counted as kept on the same line:
``skipped 1 of 3,001 files: 1 not audio; kept 4 clipped, 2 silent (first: x.wav)``.
"""

from __future__ import annotations

import logging
from collections import Counter

logger = logging.getLogger("selfsup.data")

MAX_EXAMPLES = 5


class SkipLog:
    """Counts skipped items by reason and remembers the first :data:`MAX_EXAMPLES` of them.

    ``noun`` names what is counted in the summary ("files", "samples").
    """

    def __init__(self, noun: str = "files") -> None:
        self.noun = noun
        self.counts: Counter[str] = Counter()
        self.kept: Counter[str] = Counter()
        self.examples: list[str] = []

    @property
    def skipped(self) -> int:
        """How many items were skipped, over all reasons."""
        return sum(self.counts.values())

    def add(self, where: str, reason: str, count: int = 1) -> None:
        """Record ``count`` skipped items for ``reason``; ``where`` is a path or sample key."""
        if count <= 0:
            return
        self.counts[reason] += count
        if len(self.examples) < MAX_EXAMPLES and where:
            self.examples.append(where)

    def keep(self, what: str, count: int = 1) -> None:
        """Record ``count`` items that were used although ``what`` is odd about them."""
        if count > 0:
            self.kept[what] += count

    def merge(self, other: SkipLog) -> None:
        """Fold another log's counts and examples into this one."""
        self.counts.update(other.counts)
        self.kept.update(other.kept)
        room = MAX_EXAMPLES - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])

    def summary(self, total: int) -> str | None:
        """The one-line summary (``total`` items seen), or None when nothing was skipped or
        flagged."""
        if not self.skipped and not self.kept:
            return None
        if self.skipped:
            line = f"skipped {self.skipped:,} of {total:,} {self.noun}: {_by_count(self.counts)}"
            if self.kept:
                line += f"; kept {_by_count(self.kept)}"
        else:
            line = f"kept all {total:,} {self.noun}: {_by_count(self.kept)}"
        if self.examples:
            line += f" (first: {', '.join(self.examples)})"
        return line

    def report(self, total: int, log: logging.Logger = logger) -> str | None:
        """Log :meth:`summary` as one warning (if anything was skipped) and return it."""
        line = self.summary(total)
        if line is not None:
            log.warning(line)
        return line


def _by_count(counts: Counter[str]) -> str:
    # Most frequent first; ties by name so the line is deterministic.
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{n:,} {what}" for what, n in ordered)
