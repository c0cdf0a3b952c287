"""BERT masking: 15% chosen, 80/10/10 replacement, specials and padding never touched."""

from __future__ import annotations

import pytest
import torch

from selfsup.nn.token_masking import IGNORE, mask_tokens

VOCAB, PAD, CLS, SEP, MASK = 50, 0, 2, 3, 4
SPECIALS = [PAD, 1, CLS, SEP, MASK, 5]


def batch(g: torch.Generator) -> torch.Tensor:
    ids = torch.randint(6, VOCAB, (64, 40), generator=g)
    ids[:, 0], ids[:, 30] = CLS, SEP
    ids[:, 31:] = PAD
    return ids


def test_masking_statistics_over_many_batches() -> None:
    g = torch.Generator().manual_seed(0)
    maskable = chosen = to_mask = to_random = kept = 0
    for _ in range(60):
        ids = batch(g)
        corrupted, labels = mask_tokens(ids, MASK, SPECIALS, VOCAB, generator=g)
        sel = labels != IGNORE
        special = torch.isin(ids, torch.tensor(SPECIALS))
        assert not (sel & special).any(), "a special or pad token was chosen"
        assert torch.equal(corrupted[~sel], ids[~sel]), "an unchosen token changed"
        assert torch.equal(labels[sel], ids[sel])
        assert not torch.isin(corrupted[sel & (corrupted != MASK)], torch.tensor(SPECIALS)).any()
        maskable += int((~special).sum())
        chosen += int(sel.sum())
        to_mask += int((sel & (corrupted == MASK)).sum())
        same = sel & (corrupted == ids)
        kept += int(same.sum())
        to_random += int((sel & (corrupted != MASK) & (corrupted != ids)).sum())
    assert abs(chosen / maskable - 0.15) < 0.01
    assert abs(to_mask / chosen - 0.8) < 0.02
    # A random replacement hits the original id with probability 1 / 44: count it as random.
    random_share = (to_random / chosen) * (44 / 43)
    assert abs(random_share - 0.1) < 0.02
    assert abs(kept / chosen - (1 - 0.8 - random_share)) < 0.02


def test_generator_makes_masking_reproducible() -> None:
    ids = batch(torch.Generator().manual_seed(1))
    a = mask_tokens(ids, MASK, SPECIALS, VOCAB, generator=torch.Generator().manual_seed(5))
    b = mask_tokens(ids, MASK, SPECIALS, VOCAB, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize(("ratio", "m", "r"), [(0.0, 0.8, 0.1), (0.15, 0.8, 0.3), (0.2, -0.1, 0.1)])
def test_bad_ratios_raise(ratio: float, m: float, r: float) -> None:
    with pytest.raises(ValueError, match="must be in"):
        mask_tokens(torch.zeros(2, 3, dtype=torch.long) + 7, MASK, SPECIALS, VOCAB, ratio, m, r)
