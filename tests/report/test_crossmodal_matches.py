"""Cross-modal matches on crafted embeddings: true pairs marked where they rank, metrics as
the eval code's, chance levels, and each side drawn by its modality (image, audio, text)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from selfsup.data.pairs import PairDataset
from selfsup.eval.crossmodal import chance_retrieval
from selfsup.report.crossmodal_matches import crossmodal_matches
from selfsup.report.sections_crossmodal import crossmodal_section
from selfsup.report.thumbnails import item_html

N = 6


def _image_audio_pairs() -> PairDataset:
    images = torch.randint(0, 256, (N, 3, 8, 8), dtype=torch.uint8)
    clips = [torch.sin(torch.arange(800 + 100 * i) * (0.05 + 0.02 * i)) for i in range(N)]
    labels = torch.arange(N)  # one class per pair: the crafted encoder keys on it
    return PairDataset(("image", "audio"), images, clips, labels, [], None, {})


def _encode(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pair i: a = e_i; b = e_i nudged toward e_{i+1}, so a_i's best match is b_i and its
    second b_{i-1} (which leans toward e_i)."""
    eye = torch.eye(N)[batch["label"]]
    return eye, F.normalize(eye + 0.5 * torch.roll(eye, 1, dims=1), dim=1)


def test_matches_rank_true_pairs_first_and_draw_each_modality() -> None:
    got = crossmodal_matches(
        _encode, _image_audio_pairs(), queries=3, k=4, sample_rates=(None, 8000)
    )
    assert got.pairs == got.total == N
    a_to_b, b_to_a = got.directions
    assert (a_to_b.query_side, a_to_b.gallery_side) == ("image", "audio")
    assert a_to_b.retrieval.recall[1] == 1.0 and b_to_a.retrieval.recall[1] == 1.0
    assert a_to_b.chance.recall[1] == pytest.approx(1 / N) and a_to_b.gallery == N
    for d in got.directions:
        assert [q.row for q in d.queries] == [0, 2, 5]  # spread over the split
        for q in d.queries:
            assert len(q.matches) == 4
            assert [m.true_pair for m in q.matches] == [True, False, False, False]
            assert q.matches[0].row == q.row
            sims = [m.similarity for m in q.matches]
            assert sims == sorted(sims, reverse=True)
    assert a_to_b.queries[0].matches[1].row == N - 1  # b_{i-1} second: e_{-1} leans to e_0
    assert b_to_a.queries[0].matches[1].row == 1  # b_0 leans toward a_1
    assert "log-mel spectrogram" in a_to_b.queries[0].matches[0].html
    assert 'alt="image"' in a_to_b.queries[0].html
    page = crossmodal_section(got, "last.ckpt")
    assert page.count('class="xm-query"') == 6 and page.count("xm-true") == 6
    assert page.count('class="xm-match') == 24


def test_a_text_side_is_drawn_as_its_strings_one_entry_per_sentence() -> None:
    words = ["one", "two", "one", "three", "two", "one"]
    data = PairDataset(
        ("image", "text"),
        torch.randint(0, 256, (N, 1, 4, 4), dtype=torch.uint8),
        torch.zeros(N, 4, dtype=torch.int64),
        torch.tensor([1, 2, 1, 3, 2, 1]) - 1,
        ["one", "two", "three"],
        None,
        {"b": words},
    )

    def encode(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        eye = torch.eye(3)[batch["label"]]
        return eye, eye

    got = crossmodal_matches(encode, data, queries=6, k=5)
    image_to_text, text_to_image = got.directions
    assert image_to_text.gallery == 3 and text_to_image.gallery == N  # distinct sentences
    assert len(text_to_image.queries) == 3
    for q in image_to_text.queries:
        assert len(q.matches) == 3 and q.matches[0].true_pair
        assert f">{words[q.row]}<" in q.matches[0].html
    first = text_to_image.queries[0]  # "one": pairs 0, 2 and 5 are all its true pairs
    assert sorted(m.row for m in first.matches if m.true_pair) == [0, 2, 5]
    assert [m.true_pair for m in first.matches] == [True, True, True, False, False]


def test_chance_counts_every_match_of_a_query() -> None:
    one = chance_retrieval(torch.arange(10), torch.arange(10), ks=(1, 5, 10))
    assert one.recall == pytest.approx({1: 0.1, 5: 0.5, 10: 1.0}) and one.median_rank == 5.5
    two = chance_retrieval(torch.tensor([0]), torch.tensor([0, 0, 1, 2]), ks=(1, 2))
    assert two.recall == pytest.approx({1: 0.5, 2: 5 / 6})
    assert two.median_rank == pytest.approx(5 / 3) and two.queries == 1


def test_an_unknown_modality_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="no thumbnail for video items"):
        item_html("video", torch.zeros(3))
