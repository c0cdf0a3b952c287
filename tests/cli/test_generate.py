"""``selfsup generate``: a short GPT run, then sampling from its run directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import selfsup.backbones.text  # registers the text backbones (and sources, methods below)
import selfsup.data.text
import selfsup.methods.language.bert_mlm
import selfsup.methods.language.gpt  # noqa: F401
from selfsup.cli import build_parser
from selfsup.cli.generate import generate_text
from selfsup.config.load import build_config
from selfsup.engine.load import load_method
from selfsup.engine.run import pretrain
from selfsup.registry import ConfigError

TEXT = "to be or not to be, that is the question. " * 30


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run(tmp_path: Path, method: str, backbone: str) -> Path:
    (tmp_path / "t.txt").write_text(TEXT)
    cfg = build_config(
        {
            "data": {
                "source": "text",
                "path": str(tmp_path / "t.txt"),
                "seq_len": 16,
                "batch_size": 8,
            },
            "backbone": {"name": backbone, "dim": 32, "depth": 1, "heads": 2, "max_len": 16},
            "augment": {"name": "none"},
            "method": {"name": method},
            "optim": {"name": "adamw", "base_lr": 0.1, "warmup_epochs": 0},
            "train": {
                "max_steps": 3,
                "output_dir": str(tmp_path / "runs"),
                "run_name": method,
                "progress": False,
                "channels_last": False,
            },
            "eval": {"knn_every_n_epochs": 0},
        }
    )
    return pretrain(cfg).run_dir


def test_generate_from_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = run(tmp_path, "gpt", "text_decoder_tiny")
    method, _ = load_method(run_dir)
    prompt = "to be"
    out = generate_text(str(run_dir), prompt, max_new_tokens=20, temperature=0)
    # Greedy decoding from the loaded weights, reproduced directly.
    tok = method.backbone.tokenizer
    ids = method.generate(torch.tensor([tok.encode(prompt)]), 20, temperature=0)
    assert out == tok.decode(ids[0].tolist()) and out.startswith(prompt)
    assert len(tok.encode(out)) == len(tok.encode(prompt)) + 20
    parser = build_parser()  # ``generate`` is one of the selfsup sub-commands
    args = parser.parse_args(
        [
            "generate",
            "--checkpoint",
            str(run_dir),
            "--prompt",
            "to",
            "--max-new-tokens",
            "5",
            "--temperature",
            "0.8",
            "--top-k",
            "3",
            "--seed",
            "1",
        ]
    )
    assert args.run(args) == 0
    first = capsys.readouterr().out
    args.run(args)
    assert capsys.readouterr().out == first and first.startswith("to")


def test_generate_refuses_encoder_checkpoints(tmp_path: Path) -> None:
    run_dir = run(tmp_path, "bert_mlm", "text_encoder_tiny")
    with pytest.raises(ConfigError, match="cannot generate"):
        generate_text(str(run_dir), "to", 3)
    with pytest.raises(ConfigError, match="top-k"):
        generate_text(str(run_dir), "to", 3, top_k=0)
