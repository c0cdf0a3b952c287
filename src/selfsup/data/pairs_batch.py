"""The batch of a pairs source: side ``a`` under the usual keys, side ``b`` under ``b.``.

``{"input", "length"?, "label", "index"?, "b.input", "b.length"?}``: side ``a``'s keys are those
of a one-modality batch, so whatever reads ``input`` / ``label`` / ``index`` (the engine's step,
self-paced learning, a method's ``embed``) works unchanged on tower ``a``; side ``b``'s own keys
are prefixed. ``label`` and ``index`` belong to the pair.
"""

from __future__ import annotations

import torch

Batch = dict[str, torch.Tensor]

SIDE_B = "b."
PAIR_KEYS = ("label", "index")


def join_sides(a: Batch, b: Batch) -> Batch:
    """One pair batch from side ``a``'s and side ``b``'s batches (rows in the same order)."""
    return {**a, **{SIDE_B + k: v for k, v in b.items() if k not in PAIR_KEYS}}


def side_a(batch: Batch) -> Batch:
    """Side ``a`` of a pair batch, as a one-modality batch."""
    return {k: v for k, v in batch.items() if not k.startswith(SIDE_B)}


def side_b(batch: Batch) -> Batch:
    """Side ``b`` of a pair batch, as a one-modality batch (with the pair's label / index)."""
    out = {k.removeprefix(SIDE_B): v for k, v in batch.items() if k.startswith(SIDE_B)}
    if SIDE_B + "input" not in batch:
        raise ValueError("not a pair batch: no 'b.input' (use data.source: pairs)")
    return {**out, **{k: batch[k] for k in PAIR_KEYS if k in batch}}
