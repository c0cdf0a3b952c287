"""The README's Python examples run as printed: the own loop moves the method's EMA teacher,
and the export command and ``load_backbone`` example work on a tiny real run."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
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


# --- "Export and load": the export command and the load_backbone example, on a tiny real run --

PLACEHOLDER = "runs/<run>"


def export_section() -> tuple[list[str], str]:
    """The ``selfsup export`` command lines and the one Python block of "Export and load"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Export and load", 1)[1].split("\n## ", 1)[0]
    shell = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    commands = [line.split("#")[0].strip() for b in shell for line in b.splitlines()]
    python = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(python) == 1, "expected one Python example in README's 'Export and load'"
    return [c for c in commands if c.startswith("selfsup export")], python[0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from run_helpers import tiny_digits_simclr
    from selfsup.config.load import load_config
    from selfsup.engine.run import pretrain

    cfg = load_config(None, [*tiny_digits_simclr(), "train.max_steps=1"])
    return pretrain(cfg, run_dir=tmp_path_factory.mktemp("readme") / "run").run_dir


def test_export_command_runs_as_printed(tiny_run: Path) -> None:
    from selfsup.cli import main

    commands, _ = export_section()
    assert commands, "README's 'Export and load' shows no selfsup export command"
    for command in commands:
        argv = shlex.split(command.replace(PLACEHOLDER, str(tiny_run)))
        if "onnx" in argv:
            pytest.importorskip("onnxscript")
        assert main(argv[1:]) == 0
        fmt = argv[argv.index("--format") + 1]
        assert (tiny_run / "export" / fmt / "selfsup-encoder.json").is_file()


@pytest.mark.parametrize("where", ["run", "checkpoint", "export folder"])
def test_load_backbone_example_embeds_like_the_run(tiny_run: Path, where: str) -> None:
    from selfsup.engine.checkpoint import latest_checkpoint
    from selfsup.engine.load import load_method
    from selfsup.export import export_checkpoint

    path = {
        "run": tiny_run,
        "checkpoint": latest_checkpoint(tiny_run),
        "export folder": tiny_run / "export" / "readme",
    }[where]
    if where == "export folder":
        export_checkpoint(tiny_run, "safetensors", path)
    _, example = export_section()
    assert PLACEHOLDER in example
    namespace: dict[str, Any] = {}
    exec(compile(example.replace(PLACEHOLDER, str(path)), str(README), "exec"), namespace)
    method, _ = load_method(tiny_run)
    with torch.no_grad():
        expected = method.embed(namespace["images"])
    assert torch.allclose(namespace["features"], expected, atol=1e-6)
