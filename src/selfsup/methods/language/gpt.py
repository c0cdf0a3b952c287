"""GPT (Radford et al., 2018): a causal decoder trained to predict the next token."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.text import TextTransformer, as_text_backbone
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.token_masking import IGNORE


@register_method(
    "gpt",
    backbone_tags={"causal": True},
    tiny={"backbone": "text_decoder_tiny", "embedding": False},
)
class GPT(Method):
    """Next-token cross-entropy over ``[B, T + 1]`` windows (inputs ``[:, :-1]``, targets
    ``[:, 1:]``); pad targets are ignored.

    Args:
        backbone: a causal text backbone (``text_decoder_*``) built with its tokenizer.
        augment: unused (text needs no views); accepted so the engine can pass None.
        tie_weights: share the output projection with the token embedding (as GPT-2 does).
    """

    modality = "text"
    requires_tokens = True

    def __init__(
        self, backbone: Backbone, augment: nn.Module | None = None, tie_weights: bool = True
    ) -> None:
        super().__init__(backbone, augment)
        embedding = as_text_backbone(backbone, causal=True, method="gpt").token_embedding
        self.lm_head = nn.Linear(backbone.feature_dim, embedding.num_embeddings, bias=False)
        if tie_weights:
            self.lm_head.weight = embedding.weight
        else:
            nn.init.normal_(self.lm_head.weight, std=0.02)

    @property
    def text(self) -> TextTransformer:
        """The backbone, typed as the text transformer it is checked to be."""
        return as_text_backbone(self.backbone, causal=True, method="gpt")

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """The ids the backbone reads: an LM window's inputs, cut to its ``max_len``."""
        return self.text.fit_context(x)

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``[B, T, V]`` for inputs ``ids [B, T]``."""
        return self.lm_head(self.backbone.forward_tokens(ids))

    def lm_loss(self, batch: Batch) -> torch.Tensor:
        """Mean next-token cross-entropy (nats) of a batch of windows."""
        ids = batch["input"]
        targets = ids[:, 1:].masked_fill(ids[:, 1:] == self.text.pad_id, IGNORE)
        logits = self.logits(ids[:, :-1])  # [B, T, V]
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        loss = self.lm_loss(batch)
        return {"loss": loss, "perplexity": loss.detach().exp()}

    def validation_loss(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        """The next-token loss of held-out windows (the training loss has no randomness)."""
        return self.lm_loss(batch)

    @torch.no_grad()
    def generate(
        self,
        ids: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend ``ids [B, T]`` by sampling ``max_new_tokens`` tokens (temperature 0: greedy;
        ``top_k``: sample among the k likeliest); the context is cut to the backbone's
        ``max_len``."""
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        max_len = self.text.max_len
        for _ in range(max_new_tokens):
            last = self.logits(ids[:, -max_len:])[:, -1]  # [B, V]
            if temperature == 0:
                nxt = last.argmax(-1, keepdim=True)
            else:
                last = last / temperature
                if top_k is not None:
                    kth = last.topk(min(top_k, last.shape[-1]), dim=-1).values[:, -1:]
                    last = last.masked_fill(last < kth, float("-inf"))
                nxt = torch.multinomial(last.softmax(-1), 1, generator=generator)
            ids = torch.cat([ids, nxt], dim=1)
        return ids
