"""BERT masked language modelling (Devlin et al., 2019): recover corrupted tokens."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.text import TextTransformer, as_text_backbone
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.token_masking import IGNORE, mask_tokens


@register_method(
    "bert_mlm",
    backbone_tags={"causal": False},
    tiny={"backbone": "text_encoder_tiny", "embedding": False},
)
class BertMLM(Method):
    """Corrupt ``mask_ratio`` of the non-special tokens (80% ``[MASK]``, 10% random, 10% kept)
    and predict the originals; the loss covers the chosen positions only.

    The head is BERT's: dense -> GELU -> LayerNorm -> vocabulary projection, the projection
    optionally tied to the token embedding. Only the chosen positions go through the head.
    Inputs longer than the backbone's ``max_len`` (LM windows are ``seq_len + 1``) are cut.

    Args:
        backbone: a bidirectional text backbone (``text_encoder_*``) built with its tokenizer.
        augment: unused (text needs no views); accepted so the engine can pass None.
        mask_ratio: fraction of maskable tokens chosen (paper: 0.15).
        mask_fraction / random_fraction: of the chosen, replaced by ``[MASK]`` / a random
            token (paper: 0.8 / 0.1; the rest stay unchanged).
        tie_weights: share the vocabulary projection with the token embedding.
    """

    schedulable: ClassVar[dict[str, tuple[float, float]]] = {"mask_ratio": (0.0, 1.0)}

    modality = "text"
    requires_tokens = True

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module | None = None,
        mask_ratio: float = 0.15,
        mask_fraction: float = 0.8,
        random_fraction: float = 0.1,
        tie_weights: bool = True,
    ) -> None:
        super().__init__(backbone, augment)
        text = as_text_backbone(backbone, causal=False, method="bert_mlm")
        self.mask_ratio = mask_ratio
        self.mask_fraction = mask_fraction
        self.random_fraction = random_fraction
        embedding = text.token_embedding
        dim, vocab = text.feature_dim, embedding.num_embeddings
        self.transform = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.LayerNorm(dim))
        self.decoder = nn.Linear(dim, vocab)
        if tie_weights:
            self.decoder.weight = embedding.weight
        else:
            nn.init.normal_(self.decoder.weight, std=0.02)
        nn.init.zeros_(self.decoder.bias)

    @property
    def text(self) -> TextTransformer:
        """The backbone, typed as the text transformer it is checked to be."""
        return as_text_backbone(self.backbone, causal=False, method="bert_mlm")

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """The ids the backbone reads: an LM window's inputs, cut to its ``max_len``."""
        return self.text.fit_context(x)

    def corrupt(
        self, ids: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(corrupted ids, labels)`` with labels ``IGNORE`` off the chosen positions."""
        tok = self.text.tokenizer
        return mask_tokens(
            ids,
            tok.mask_id,
            tok.special_ids,
            tok.vocab_size,
            self.mask_ratio,
            self.mask_fraction,
            self.random_fraction,
            generator,
        )

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        # LM windows carry one extra (next-token) id: keep what fits the encoder's context.
        ids = self.text.fit_context(batch["input"])
        corrupted, labels = self.corrupt(ids, generator)
        tokens = self.backbone.forward_tokens(corrupted)  # [B, T, D]
        chosen = labels != IGNORE  # [B, T]
        logits = self.decoder(self.transform(tokens[chosen]))  # [n_chosen, V]
        # Nothing maskable in the batch: a zero loss that still reaches every parameter.
        empty = len(logits) == 0
        loss = tokens.sum() * 0.0 if empty else F.cross_entropy(logits, labels[chosen])
        # No "embedding" for the collapse monitor: mean-pooled MLM features are strongly
        # anisotropic by nature, so its isotropy-based alarm would fire on healthy runs.
        return {"loss": loss, "mlm_accuracy": _accuracy(logits, labels[chosen])}

    def validation_loss(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        """The masked-LM loss of held-out sentences, masked as ``generator`` draws (a fixed
        seed masks the same positions at every evaluation)."""
        return self.training_step(batch, generator)["loss"]


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if len(labels) == 0:
        return torch.zeros(())
    return (logits.argmax(-1) == labels).float().mean().detach()
