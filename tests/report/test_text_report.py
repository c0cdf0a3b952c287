"""The report of a language-model run: val loss beside the training loss, a generated sample
that repeats, sequences / s, and a t-SNE of its val windows (which hold one id more than the
model's context)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import torch

from selfsup.cli.report import SAMPLE_NEW_TOKENS, SAMPLE_TEMPERATURE, make_report
from selfsup.engine.build import build_split
from selfsup.engine.load import load_method
from text_run_helpers import SEQ_LEN, tiny_text_run


@pytest.fixture(scope="module")
def gpt_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("text")
    run = tiny_text_run(folder, "gpt", steps=4, overrides=("eval.val_loss_every_n_steps=2",))
    return run.run_dir, make_report(run.run_dir, max_items=50).read_text()


def _sections(page: str) -> set[str]:
    return set(re.findall(r'<section id="([^"]+)"', page))


def _sample(page: str) -> tuple[str, str]:
    found = re.search(r'<pre class="sample"><b>(.*?)</b>(.*?)</pre>', page, re.S)
    assert found, "no generated sample in the report"
    return html.unescape(found[1]), html.unescape(found[2])


def test_the_loss_plot_shows_the_val_loss(gpt_report: tuple[Path, str]) -> None:
    _, page = gpt_report
    assert "Training and validation loss" in page and "<span>sequences / s</span>" in page


def test_the_sample_continues_the_val_split_with_a_fixed_seed(
    gpt_report: tuple[Path, str],
) -> None:
    run_dir, page = gpt_report
    prompt, continuation = _sample(page)
    method, cfg = load_method(run_dir)
    tok = method.backbone.tokenizer
    window = build_split(cfg, "val")[0]["input"]
    assert tok.encode(prompt) == window[: len(tok.encode(prompt))].tolist() and prompt
    # Independent draw with the report's settings: the same text, every time.
    ids = torch.tensor([tok.encode(prompt)])
    g = torch.Generator().manual_seed(0)
    out = method.generate(ids, SAMPLE_NEW_TOKENS, SAMPLE_TEMPERATURE, generator=g)
    assert continuation == tok.decode(out[0, ids.shape[1] :].tolist())
    assert _sample(make_report(run_dir, features=False).read_text()) == (prompt, continuation)


def test_t_sne_reads_windows_one_id_longer_than_the_context(
    gpt_report: tuple[Path, str],
) -> None:
    run_dir, page = gpt_report
    method, cfg = load_method(run_dir)
    window = build_split(cfg, "val")[0]["input"]
    assert len(window) == SEQ_LEN + 1 == method.backbone.max_len + 1
    assert method.embed(window[None]).shape == (1, method.backbone.feature_dim)
    assert "tsne" in _sections(page) and "exceeds" not in page
    tsne = page.split('<section id="tsne"', 1)[1].split("</section>", 1)[0]
    assert "data:image/png;base64," in tsne


def test_encoders_get_no_sample(tmp_path: Path) -> None:
    run = tiny_text_run(tmp_path, "bert_mlm", steps=2)
    page = make_report(run.run_dir, features=False).read_text()
    assert "sample" not in _sections(page) and "<span>sequences / s</span>" in page
