"""Pseudo-label refinement with a fine-tuned labeller: the encoder fine-tuned on the labelled
inputs (images, or NaN-padded audio clips) labels the unlabelled pool's most confident
fraction, a fresh copy of the pretrained encoder is fine-tuned on real + pseudo labels, and
both are scored on a held-out split.

Early stopping of the second run validates on real labels only (pseudo labels go in
``finetune``'s ``extra`` set), so unverified labels never choose the epoch they are judged at.
"""

from __future__ import annotations

import torch
from torch import nn

from selfsup.eval.finetune import FinetuneConfig, Images, Preprocess, finetune_model
from selfsup.eval.finetune_parts import torch_threads
from selfsup.eval.pseudo_label import PseudoLabelResult, pseudo_label_accuracy, select_confident
from selfsup.modalities import modality_of


@torch.no_grad()
def predict_probs(
    model: nn.Module,
    preprocess: Preprocess,
    images: torch.Tensor,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
) -> torch.Tensor:
    """Softmax class probabilities ``[N, C]`` (on CPU) of ``model`` in eval mode on raw
    ``images`` (uint8 images or padded clips), in batches of ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    model.eval()
    dev = torch.device(device)
    encoder = getattr(model, "encoder", None)
    compact = modality_of(encoder).compact if isinstance(encoder, nn.Module) else None
    out = []
    for b0 in range(0, len(images), batch_size):
        raw = images[b0 : b0 + batch_size].to(dev)
        raw = compact(raw) if compact is not None else raw  # audio: drop all-padding columns
        out.append(model(preprocess(raw)).softmax(dim=1).cpu())
    model.train(was_training)
    return torch.cat(out)


def pseudo_label_finetune(
    encoder: nn.Module,
    preprocess: Preprocess,
    labeled: Images,
    pool: torch.Tensor | Images,
    heldout: Images,
    fraction: float = 0.5,
    config: FinetuneConfig | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    balanced: bool = True,
) -> PseudoLabelResult:
    """Fine-tuned pseudo-labelling of the top ``fraction`` of ``pool`` by confidence (per
    predicted class when ``balanced``, see :func:`select_confident`).

    ``labeled`` and ``heldout`` are ``(inputs, labels)`` (uint8 images, or NaN-padded clips
    ``[N, T]``); ``pool`` is inputs, or ``(inputs, labels)`` whose labels (``-1``: unknown)
    only measure the pseudo labels' accuracy and never train. Both fine-tunes start from
    ``encoder`` (left untouched) with the same ``config``; the baseline/refined accuracies are
    those of the best validation epoch.
    """
    pool_x, pool_y = pool if isinstance(pool, tuple) else (pool, None)
    if len(pool_x) == 0:
        raise ValueError("the unlabelled pool is empty")
    # Audio sets are padded to their own longest clip: pad both to one width so they join.
    labeled_x, pool_x = modality_of(encoder).same_width(labeled[0], pool_x)
    labeled = (labeled_x, labeled[1])
    if pool_x.shape[1:] != labeled[0].shape[1:]:
        raise ValueError(
            f"pool images are {tuple(pool_x.shape[1:])}, labelled are {tuple(labeled[0].shape[1:])}"
        )
    if pool_y is not None and len(pool_y) != len(pool_x):
        raise ValueError(f"pool has {len(pool_x)} images but {len(pool_y)} labels")
    if not 0 < fraction <= 1:  # checked before the first fine-tune, not after it
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    cfg = config or FinetuneConfig()
    base, labeller = finetune_model(encoder, preprocess, labeled, heldout, cfg, device)
    with torch_threads(cfg.num_threads):
        probs = predict_probs(labeller, preprocess, pool_x, device, batch_size)
    del labeller  # only its predictions are needed; free it before the second fine-tune
    chosen = select_confident(probs, fraction, balanced)
    pseudo = probs[chosen].argmax(dim=1)
    refined, _ = finetune_model(
        encoder, preprocess, labeled, heldout, cfg, device, extra=(pool_x[chosen], pseudo)
    )
    truth = pool_y[chosen] if pool_y is not None else torch.full_like(pseudo, -1)
    return PseudoLabelResult(
        baseline_accuracy=base.test_accuracy_best,
        refined_accuracy=refined.test_accuracy_best,
        pseudo_labels=len(chosen),
        pseudo_label_accuracy=pseudo_label_accuracy(pseudo, truth),
        labeller="finetune",
        class_balanced=balanced,
    )
