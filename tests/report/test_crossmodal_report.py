"""The report of a tiny CLIP run (digit images <-> digit words): its cross-modal section holds
the right number of queries and matches, in the order the towers' similarities rank them, the
true pair marked where it ranks, and the retrieval numbers of ``selfsup eval crossmodal``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from clip_run_helpers import clip_overrides, digit_pairs
from selfsup.cli import main
from selfsup.cli.eval.crossmodal import run_pairs
from selfsup.cli.report import CROSSMODAL_MATCHES, CROSSMODAL_QUERIES, make_report
from selfsup.config.load import load_config
from selfsup.engine.load import load_method
from selfsup.engine.run import pretrain
from selfsup.modalities.pairs import PairCollate

N_VAL = 24


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clip")
    manifest = digit_pairs(root, n_train=96, n_val=N_VAL)
    cfg = load_config(None, clip_overrides(manifest, "train.max_steps=12"))
    return pretrain(cfg, run_dir=root / "run").run_dir


def _section(page: str) -> str:
    start = page.index('<section id="crossmodal"')
    return page[start : page.index("</section>", start)]


def _rows(section: str, direction: int) -> list[str]:
    table = section.split('<table class="xm-direction"')[1 + direction]
    return table.split('<tr class="xm-query">')[1:]


def _cells(row: str) -> list[tuple[bool, float, str]]:
    """Each match cell: marked as the true pair, its similarity, the text it shows."""
    cells = re.findall(r'<td class="xm-match( xm-true)?" data-rank="\d+" data-sim="([^"]+)"'
                       r"[^>]*>(.*?)</td>", row)  # fmt: skip
    return [(bool(true), float(sim), body) for true, sim, body in cells]


def test_report_shows_queries_with_matches_ranked_by_similarity(run_dir: Path) -> None:
    page = make_report(run_dir).read_text()
    section = _section(page)
    method, cfg = load_method(run_dir)
    data = run_pairs(method, cfg, "val")
    batch = PairCollate(data.sides)([data[i] for i in range(len(data))])
    emb_a, emb_b = method.embed_pair(batch)
    words = data.texts["b"]
    distinct = sorted(set(words), key=words.index)  # the text gallery: one entry per word
    first = [words.index(w) for w in distinct]
    sim = emb_a @ emb_b[first].T  # [N_VAL, words]: unit vectors, so cosine

    queries = np.linspace(0, N_VAL - 1, CROSSMODAL_QUERIES).round().astype(int)
    image_rows = _rows(section, 0)
    assert len(image_rows) == CROSSMODAL_QUERIES
    for q, row in zip(queries, image_rows, strict=True):
        cells = _cells(row)
        assert len(cells) == CROSSMODAL_MATCHES
        order = sim[q].argsort(descending=True)[:CROSSMODAL_MATCHES].tolist()
        assert [
            f">{distinct[j]}<" in body for (_, _, body), j in zip(cells, order, strict=True)
        ] == [True] * CROSSMODAL_MATCHES
        assert [t for t, _, _ in cells] == [distinct[j] == words[q] for j in order]
        assert [s for _, s, _ in cells] == pytest.approx(sim[q, order].tolist(), abs=1e-3)
        assert 'alt="image"' in row.split('class="xm-match')[0]  # the query drawn as an image

    text_rows = _rows(section, 1)  # queries: distinct words; gallery: every val image
    spread = np.linspace(0, len(distinct) - 1, CROSSMODAL_QUERIES).round().astype(int)
    assert len(text_rows) == CROSSMODAL_QUERIES
    for w, row in zip(spread, text_rows, strict=True):
        assert f'<span class="item-text">{distinct[w]}</span>' in row.split('class="xm-match')[0]
        cells = _cells(row)
        assert len(cells) == CROSSMODAL_MATCHES
        order = sim[:, w].argsort(descending=True)[:CROSSMODAL_MATCHES].tolist()
        assert [t for t, _, _ in cells] == [words[i] == distinct[w] for i in order]
        assert [s for _, s, _ in cells] == pytest.approx(sim[order, w].tolist(), abs=1e-3)


def test_retrieval_numbers_are_those_of_eval_crossmodal(run_dir: Path, tmp_path: Path) -> None:
    section = _section(make_report(run_dir).read_text())
    out = tmp_path / "crossmodal.json"
    args = ["eval", "crossmodal", "--checkpoint", str(run_dir), "--zero-shot", "off"]
    assert main([*args, "--out", str(out)]) == 0
    want = json.loads(out.read_text())
    rows = re.findall(r'<tr class="xm-(model|chance)"><td>([^<]+)</td>(.*?)</tr>', section)
    assert [kind for kind, _, _ in rows] == ["model", "chance", "model", "chance"]
    for (_, name, cells), direction in zip(rows[::2], ("image->text", "text->image"), strict=True):
        assert name == direction.replace("->", " → ")
        shown = [float(v) for v in re.findall(r">([\d.]+)%?<", cells)]
        expected = [100 * want[f"{direction} R@{k}"] for k in (1, 5, 10)]
        assert shown[:3] == pytest.approx(expected, abs=0.051)
        assert shown[3] == pytest.approx(want[f"{direction} median rank"], rel=1e-3)
        assert shown[4] == want[f"{direction} queries"]
    chance = [float(v) for v in re.findall(r">([\d.]+)%?<", rows[1][2])]
    assert chance[0] == pytest.approx(100 / want["text->image queries"], abs=0.051)  # 1 / words
