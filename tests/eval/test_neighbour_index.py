"""Choosing a neighbour index (auto / faiss thresholds), the exact index, and life without faiss."""

from __future__ import annotations

import importlib.util
import logging
import sys

import pytest
import torch

from selfsup.eval.features import Features
from selfsup.eval.knn import knn_evaluate, knn_neighbors
from selfsup.eval.neighbour_index import (
    EXACT_MAX_PAIRS,
    FLAT_MAX_PAIRS,
    ExactIndex,
    IndexOptions,
    build_index,
    choose_kind,
    ivf_build_queries,
)
from selfsup.registry import ConfigError

needs_faiss = pytest.mark.skipif(
    importlib.util.find_spec("faiss") is None, reason="faiss-cpu (the faiss extra) is absent"
)


@pytest.fixture
def no_faiss(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import faiss`` fails as it does where the extra is not installed."""
    monkeypatch.setitem(sys.modules, "faiss", None)


def random_bank(n: int = 300, q: int = 40, d: int = 12, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(q, d, generator=g)


@needs_faiss
@pytest.mark.parametrize(
    ("bank", "queries", "expected"),
    [
        (50_000, 10_000, "exact"),  # 5e8 pairs: the bank fits
        (100_000, EXACT_MAX_PAIRS // 100_000, "exact"),  # right at the threshold
        (100_000, EXACT_MAX_PAIRS // 100_000 + 1, "faiss-flat"),
        (1_000_000, FLAT_MAX_PAIRS // 1_000_000, "faiss-flat"),
        (1_000_000, 100_000, "faiss-ivf"),
        (100_000_000, FLAT_MAX_PAIRS // 100_000_000 + 1, "faiss-flat"),  # too few to train IVF
    ],
)
def test_auto_picks_by_bank_times_queries(bank: int, queries: int, expected: str) -> None:
    assert choose_kind("auto", bank, queries) == expected


def test_ivf_build_cost_in_flat_queries() -> None:
    # 10 k-means rounds over 40 points per list + one assignment per vector, nlist = 4 sqrt(N).
    assert ivf_build_queries(1_000_000) == pytest.approx(6400 + 4000)
    assert ivf_build_queries(1_000_000, nlist=1000) == pytest.approx(400 + 1000)


@needs_faiss
def test_faiss_picks_flat_then_ivf_and_explicit_kinds_stay() -> None:
    assert choose_kind("faiss", 10, 10) == "faiss-flat"
    assert choose_kind("faiss", 10**6, 10**5) == "faiss-ivf"
    for kind in ("exact", "faiss-flat", "faiss-ivf"):
        assert choose_kind(kind, 10**6, 10**5) == kind
    small = IndexOptions("auto", exact_max_pairs=99, flat_max_pairs=999)
    assert [choose_kind(small, 10, q) for q in (9, 99, 100)] == ["exact", "faiss-flat", "faiss-ivf"]


def test_auto_without_faiss_falls_back_to_exact_with_one_info_line(
    no_faiss: None, caplog: pytest.LogCaptureFixture
) -> None:
    bank, queries = random_bank()
    tiny = IndexOptions("auto", exact_max_pairs=10)  # any bank is "too big"
    with caplog.at_level(logging.INFO, logger="selfsup"):
        _, idx = knn_neighbors(bank, queries, 5, index=tiny)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "faiss is not installed" in lines[0]
    assert "pip install selfsup[faiss]" in lines[0]
    assert torch.equal(idx, knn_neighbors(bank, queries, 5)[1])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="selfsup"):
        knn_neighbors(bank, queries, 5, index="auto")  # small: exact, nothing to say
    assert not caplog.records


@pytest.mark.parametrize("kind", ["faiss", "faiss-flat", "faiss-ivf"])
def test_asking_for_faiss_without_it_is_one_clear_error(no_faiss: None, kind: str) -> None:
    bank, queries = random_bank()
    with pytest.raises(ConfigError, match=r"needs faiss.*pip install selfsup\[faiss\]"):
        knn_neighbors(bank, queries, 5, index=kind)


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown index 'annoy'"):
        IndexOptions("annoy")
    with pytest.raises(ConfigError, match="nprobe"):
        IndexOptions("faiss-ivf", nprobe=0)


def test_exact_index_filled_in_chunks_equals_one_bank() -> None:
    bank, queries = random_bank(n=301)
    index = ExactIndex(bank.shape[1], chunk_size=7, bank_chunk_size=50)
    for part in bank.split(64):
        index.add(part)
    assert len(index) == 301
    sims, idx = index.search(queries, 9)
    ref_sims, ref_idx = knn_neighbors(bank, queries, 9)
    assert torch.equal(idx, ref_idx)
    torch.testing.assert_close(sims, ref_sims)


def test_a_built_index_is_reused_and_must_match_the_bank() -> None:
    bank, queries = random_bank()
    labels = torch.arange(len(bank)) % 4
    index = build_index(bank, "exact")
    result = knn_evaluate(Features(bank, labels), Features(queries, labels[:40]), 10, index=index)
    assert result.index == "exact"
    with pytest.raises(ValueError, match="holds 300 x 12"):
        knn_neighbors(bank[:100], queries, 5, index=index)
