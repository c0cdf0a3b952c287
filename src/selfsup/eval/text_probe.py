"""Text evaluations: language-model loss / perplexity, and layer-pooled features for probes.

Both take plain callables or backbones, never a method: ``lm_loss(batch) -> mean loss`` for
the LM metrics, and a text backbone with ``forward_layers`` / ``pool_tokens`` for features.
The features feed the shared :mod:`selfsup.eval.linear` and :mod:`selfsup.eval.knn` probes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from selfsup.data.collate import collate

LossFn = Callable[[dict[str, torch.Tensor]], torch.Tensor]


@torch.no_grad()
def language_model_metrics(
    lm_loss: LossFn, dataset: Dataset[Any], batch_size: int = 64, pad_id: int | None = None
) -> dict[str, float]:
    """Token-weighted mean loss over the whole ``dataset`` and its perplexity ``exp(loss)``.

    ``lm_loss`` returns a batch's mean next-token loss; batches are weighted by their number of
    scored targets (every token after the first, pad targets excluded when ``pad_id`` is set).
    """
    total, tokens = 0.0, 0
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)
    for batch in loader:
        targets = batch["input"][:, 1:]
        n = int((targets != pad_id).sum()) if pad_id is not None else targets.numel()
        if n == 0:
            continue
        total += float(lm_loss(batch)) * n
        tokens += n
    if tokens == 0:
        raise ValueError("no tokens to score in the evaluation data")
    loss = total / tokens
    return {"val_loss": loss, "perplexity": math.exp(loss), "tokens": float(tokens)}


def layer_encoder(backbone: Any, layer: int = -1) -> Callable[[torch.Tensor], torch.Tensor]:
    """Encode ids ``[B, T]`` to the pooled features ``[B, D]`` of hidden state ``layer`` (0 is
    the embedding output, -1 the final normalised layer) of a text backbone."""
    depth = backbone.depth
    if not -(depth + 1) <= layer <= depth:
        raise ValueError(f"layer {layer} out of range for a {depth}-block backbone")

    def encode(ids: torch.Tensor) -> torch.Tensor:
        return backbone.pool_tokens(backbone.forward_layers(ids)[layer], ids)

    return encode


def all_layers_encoder(backbone: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """Encode ids to every layer's pooled features, flattened ``[B, (depth + 1) * D]``; a
    linear probe on these learns its own weighting of the layers."""

    def encode(ids: torch.Tensor) -> torch.Tensor:
        layers = backbone.forward_layers(ids)
        return torch.cat([backbone.pool_tokens(h, ids) for h in layers], dim=1)

    return encode


def probe_text_features(
    encode: Callable[[torch.Tensor], torch.Tensor],
    train: Dataset[Any],
    test: Dataset[Any],
    batch_size: int = 256,
    knn_k: int = 20,
    epochs: int = 100,
) -> dict[str, float]:
    """Frozen-feature linear-probe and kNN test accuracy of ``encode`` on labelled text."""
    from selfsup.eval.features import extract_features
    from selfsup.eval.knn import knn_accuracy
    from selfsup.eval.linear import linear_probe

    with torch.no_grad():
        tr = extract_features(encode, train, batch_size=batch_size)
        te = extract_features(encode, test, batch_size=batch_size)
    probe = linear_probe(tr, te, epochs=epochs)
    knn = knn_accuracy(tr.features, tr.labels, te.features, te.labels, k=knn_k, temperature=0.1)
    return {"linear_top1": probe.test_accuracy, "knn_top1": knn}
