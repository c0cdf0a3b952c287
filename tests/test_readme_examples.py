"""The README's own-loop example runs as printed and moves the method's EMA teacher."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def own_loop_example() -> str:
    """The Python block of README's "From Python" section that trains in a hand-written loop."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## From Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    loops = [b for b in blocks if "create_method(" in b and "for " in b]
    assert len(loops) == 1, "expected one own-loop example in README's 'From Python'"
    return loops[0]


class SnapshotLoader:
    """A few random uint8 batches; snapshots the target's weights when the loop starts."""

    def __init__(self, namespace: dict[str, Any], batches: int = 3, size: int = 32) -> None:
        gen = torch.Generator().manual_seed(0)
        self.namespace = namespace
        self.batches = [
            {"input": torch.randint(0, 256, (4, 3, size, size), dtype=torch.uint8, generator=gen)}
            for _ in range(batches)
        ]
        self.before: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        target = self.namespace["method"].target_backbone
        self.before = {k: v.clone() for k, v in target.state_dict().items()}
        return iter(self.batches)


def test_own_loop_example_updates_the_teacher() -> None:
    torch.manual_seed(0)
    namespace: dict[str, Any] = {}
    loader = SnapshotLoader(namespace)
    namespace["loader"] = loader
    exec(compile(own_loop_example(), str(README), "exec"), namespace)
    method = namespace["method"]
    assert method.ema.count() == len(loader)  # on_step_end saw the optimizer steps done
    after = method.target_backbone.state_dict()
    moved = [k for k, v in loader.before.items() if v.is_floating_point()]
    assert moved and any(not torch.equal(after[k], loader.before[k]) for k in moved)
