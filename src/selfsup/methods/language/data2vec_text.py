"""data2vec for text (Baevski et al., 2022): an encoder reading BERT-masked sentences regresses
an EMA teacher's averaged, normalised top-K layer outputs at the masked positions."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.text import TextTransformer, as_text_backbone
from selfsup.methods.base import Batch, Method
from selfsup.methods.registry import register_method
from selfsup.nn.ema_teacher import EMATeacher
from selfsup.nn.layer_targets import layer_targets
from selfsup.nn.token_masking import IGNORE, mask_tokens


@register_method(
    "data2vec_text",
    backbone_tags={"causal": False},
    tiny={"backbone": "text_encoder_tiny", "embedding": False},
)
class Data2VecText(Method):
    """Student: a text encoder on ids corrupted as in BERT (15% chosen; 80% [MASK], 10% random,
    10% kept). Teacher: its EMA copy on the intact ids. Targets: the same
    :func:`~selfsup.nn.layer_targets.layer_targets` as data2vec for images (the teacher's last
    ``top_k`` block outputs, each normalised over the non-pad tokens, averaged), regressed by a
    linear head at the chosen positions only.

    Args:
        backbone: a ``text_encoder_*`` backbone (the student).
        augment: unused (text makes no views); accepted for the uniform method signature.
        top_k: teacher blocks averaged into the target (paper: 10 of 12 for text).
        mask_ratio / mask_fraction / random_fraction: BERT's corruption.
        loss: ``"l2"`` or ``"smooth_l1"`` (paper, text: smooth L1 with ``loss_beta`` 4).
        momentum_base / momentum_final / momentum_anneal_steps: teacher decay, linear
            ``base -> final`` over the anneal steps, then constant (paper: 0.999 -> 0.9999).
    """

    modality: ClassVar[str] = "text"
    requires_tokens: ClassVar[bool] = True

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module | None = None,
        *,
        top_k: int = 2,
        mask_ratio: float = 0.15,
        mask_fraction: float = 0.8,
        random_fraction: float = 0.1,
        loss: Literal["l2", "smooth_l1"] = "smooth_l1",
        loss_beta: float = 4.0,
        momentum_base: float = 0.999,
        momentum_final: float = 0.9999,
        momentum_anneal_steps: int = 30000,
    ) -> None:
        super().__init__(backbone, augment)
        text = as_text_backbone(backbone, causal=False, method="data2vec_text")
        depth = len(text.blocks)
        if not 1 <= top_k <= depth:
            raise ValueError(
                f"data2vec_text top_k must be in [1, {depth}] (the depth), got {top_k}"
            )
        if loss not in ("l2", "smooth_l1") or not loss_beta > 0:
            raise ValueError(f"data2vec_text loss must be 'l2' or 'smooth_l1', got {loss}")
        self.regression_head = nn.Linear(text.feature_dim, text.feature_dim)
        self.ema = EMATeacher(
            "linear", momentum_base, momentum_final, momentum_anneal_steps, owner="data2vec_text"
        )
        self.teacher_backbone = self.ema.track(backbone)
        self.top_k, self.loss_kind, self.loss_beta = top_k, loss, float(loss_beta)
        self.corruption = (mask_ratio, mask_fraction, random_fraction)

    @property
    def text(self) -> TextTransformer:
        """The student, typed as the text encoder it was checked to be."""
        return as_text_backbone(self.backbone, causal=False, method="data2vec_text")

    def eval_input(self, x: torch.Tensor) -> torch.Tensor:
        """The ids the backbone reads: an LM window's inputs, cut to its ``max_len``."""
        return self.text.fit_context(x)

    @torch.no_grad()
    def targets(self, ids: torch.Tensor) -> torch.Tensor:
        """Teacher targets ``[B, T, D]`` of the intact ids (pad tokens left out of the norm)."""
        teacher = self.teacher_backbone
        assert isinstance(teacher, TextTransformer)
        blocks = teacher.forward_layers(ids)[1:]  # one output per block, embedding dropped
        return layer_targets(blocks, self.top_k, valid=ids != teacher.pad_id)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        ids = self.text.fit_context(batch["input"])  # LM windows carry one extra id
        tok = self.text.tokenizer
        ratio, fraction, random = self.corruption
        corrupted, labels = mask_tokens(
            ids, tok.mask_id, tok.special_ids, tok.vocab_size, ratio, fraction, random, generator
        )
        chosen = labels != IGNORE  # [B, T]
        tokens = self.backbone.forward_tokens(corrupted)  # [B, T, D]
        pred = self.regression_head(tokens[chosen])  # [M, D]
        target = self.targets(ids)[chosen]  # [M, D]
        if len(pred) == 0:  # nothing maskable in the batch: a zero loss that reaches the student
            loss = tokens.sum() * 0.0
        elif self.loss_kind == "l2":
            loss = F.mse_loss(pred.float(), target)
        else:
            loss = F.smooth_l1_loss(pred.float(), target, beta=self.loss_beta)
        return {"loss": loss, "momentum": torch.tensor(self.ema.momentum)}

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Move the teacher towards the student with this step's decay."""
        self.ema.step(step, max_steps)
