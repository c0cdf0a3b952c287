"""Cross-modal retrieval metrics on crafted similarities, shared ids, and zero-shot."""

from __future__ import annotations

import pytest
import torch

from selfsup.eval.crossmodal import (
    class_exemplars,
    cross_modal_retrieval,
    direction_metrics,
    match_ranks,
    text_ids,
    zero_shot_accuracy,
)


def test_ranks_on_a_crafted_similarity_matrix() -> None:
    sim = torch.tensor(
        [
            [0.9, 0.1, 0.0, 0.2],  # match (col 0) first: rank 1
            [0.8, 0.5, 0.6, 0.0],  # match col 1 below cols 0 and 2: rank 3
            [0.1, 0.2, 0.3, 0.4],  # match col 2 below col 3: rank 2
            [0.5, 0.6, 0.7, 0.1],  # match col 3 last: rank 4
        ]
    )
    ids = torch.arange(4)
    ranks = match_ranks(sim, ids, ids)
    assert ranks.tolist() == [1, 3, 2, 4]
    r = direction_metrics(ranks, ks=(1, 2, 3))
    assert r.recall == {1: 0.25, 2: 0.5, 3: 0.75}
    assert r.median_rank == 2.0  # torch's median of an even count: the lower middle
    # Columns as queries: col 1's match 0.5 is beaten by 0.6; col 3's 0.1 by 0.2 and 0.4.
    assert match_ranks(sim.T, ids, ids).tolist() == [1, 2, 3, 3]
    ties = torch.tensor([[0.5, 0.5], [0.0, 1.0]])  # a tie with a non-match does not demote
    assert match_ranks(ties, torch.arange(2), torch.arange(2)).tolist() == [1, 1]


def test_shared_ids_count_any_match_and_missing_ones_are_left_out() -> None:
    sim = torch.tensor([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
    # Query 0 matches gallery 0 and 2 (same sentence): its best match 0.5 is beaten once.
    ranks = match_ranks(sim, torch.tensor([7, 9]), torch.tensor([7, 8, 7]))
    assert ranks.tolist() == [2, 0]
    assert direction_metrics(ranks).queries == 1
    with pytest.raises(ValueError, match="no query has a match"):
        direction_metrics(torch.zeros(3, dtype=torch.int64))


def test_retrieval_both_ways_from_embeddings() -> None:
    a = torch.eye(5)
    perfect = cross_modal_retrieval(a, a * 3)
    assert perfect.a_to_b.recall[1] == 1.0 and perfect.b_to_a.median_rank == 1.0
    shifted = cross_modal_retrieval(a, a.roll(1, dims=0))
    assert (
        shifted.a_to_b.recall[1] == 0.0
        and shifted.as_dict(("audio", "text"))["text->audio R@10"] == 1.0
    )


def test_text_ids_group_equal_sentences() -> None:
    ids, first = text_ids(["a cat", "a dog", "a cat", "a bird", "a dog"])
    assert ids.tolist() == [0, 1, 0, 2, 1] and first == [0, 1, 3]


def test_zero_shot_by_prompts_and_exemplars() -> None:
    emb = torch.tensor([[1.0, 0.1], [0.1, 1.0], [0.9, 0.0], [-1.0, 0.0]])
    labels = torch.tensor([0, 1, 0, -1])
    classes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert zero_shot_accuracy(emb, classes, labels, ks=(1,)) == {1: 1.0}
    assert zero_shot_accuracy(emb, classes.flip(0), labels, ks=(1, 2)) == {1: 0.0, 2: 1.0}
    means = class_exemplars(emb, labels, 3)
    assert torch.allclose(means[2], torch.zeros(2))  # a class without items
    assert means[0, 0] > 0.99 and means[1, 1] > 0.99
