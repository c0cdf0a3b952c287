"""DINO (Caron et al., 2021): self-distillation with no labels, multi-crop, centring and
sharpening of an EMA teacher."""

from __future__ import annotations

import torch
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.losses.dino import DINOLoss, teacher_stats
from selfsup.methods.base import VIEW_MODALITIES, Batch, Method, encode_by_shape
from selfsup.methods.registry import register_method
from selfsup.nn.centering import CenteringMode, TeacherCentering
from selfsup.nn.dino_head import DINOHead
from selfsup.nn.ema_teacher import EMATeacher
from selfsup.schedules import teacher_temperature

NUM_GLOBAL = 2  # views 0 and 1 are the global crops: the only ones the teacher sees


def check_distillation_args(teacher_temp: float, warmup: int, freeze: int) -> None:
    """Shared argument checks of DINO-style methods (one-line ValueErrors); the teacher
    momentum is checked by :class:`EMATeacher`."""
    if not teacher_temp > 0 or warmup < 0 or freeze < 0:
        raise ValueError(
            "needs teacher_temp > 0, teacher_temp_warmup_steps >= 0 and "
            f"freeze_last_layer_steps >= 0, got {teacher_temp}, {warmup} and {freeze}"
        )


@register_method("dino", tiny={"backbone": "resnet_tiny"})
class DINO(Method):
    """Student backbone -> :class:`DINOHead`; teacher = EMA copy of both, fed global crops only.

    Every student view (global and local crops; equal-shape views share a backbone pass) is
    trained to predict the teacher's centred, sharpened distribution of each *other* global
    view (:class:`DINOLoss`). The teacher temperature warms up linearly from
    ``teacher_temp_start`` to ``teacher_temp``; the teacher momentum follows a cosine from
    ``momentum_base`` to ``momentum_final``. The head's last layer gets no gradient during the
    first ``freeze_last_layer_steps`` optimizer steps (the paper freezes it for one epoch).
    Works on any backbone (ResNet: pooled features; ViT: the pooled CLS token). Returned
    metrics ``teacher_entropy`` / ``teacher_mean_entropy`` / ``teacher_mean_kl`` make collapse
    visible (see :func:`selfsup.losses.dino.collapse_kind`).

    Args:
        backbone: the student encoder being pretrained.
        augment: makes the views; the first two are the global ones (``multicrop``).
        out_dim: prototypes K (paper: 65,536; CIFAR presets use fewer).
        hidden_dim / bottleneck_dim / head_layers / head_batch_norm: head sizes (paper:
            2048, 256, 3, no BN).
        norm_last_layer: fix the last layer's weight-norm gain at 1 (paper: on).
        student_temp: student softmax temperature (0.1).
        teacher_temp_start / teacher_temp / teacher_temp_warmup_steps: teacher temperature
            warm-up (paper: 0.04 -> 0.07 over 30 epochs).
        centering: ``"ema"`` (DINO), ``"sinkhorn"`` (DINOv2) or ``"none"`` (ablation).
        center_momentum: EMA momentum of the centre (0.9).
        momentum_base / momentum_final: teacher EMA momentum schedule (0.996 -> 1).
        freeze_last_layer_steps: steps without last-layer updates (one epoch; default is one
            ImageNet epoch at batch 1024).
    """

    modality = VIEW_MODALITIES

    def __init__(
        self,
        backbone: Backbone,
        augment: nn.Module,
        *,
        out_dim: int = 65536,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        head_layers: int = 3,
        head_batch_norm: bool = False,
        norm_last_layer: bool = True,
        student_temp: float = 0.1,
        teacher_temp_start: float = 0.04,
        teacher_temp: float = 0.07,
        teacher_temp_warmup_steps: int = 37530,
        centering: CenteringMode = "ema",
        center_momentum: float = 0.9,
        momentum_base: float = 0.996,
        momentum_final: float = 1.0,
        freeze_last_layer_steps: int = 1251,
    ) -> None:
        super().__init__(backbone, augment)
        # Optimizer steps done (ema.steps_done, saved) drive every schedule of the method.
        self.ema = EMATeacher("cosine", momentum_base, momentum_final, owner=type(self).__name__)
        check_distillation_args(
            min(teacher_temp, teacher_temp_start),
            teacher_temp_warmup_steps,
            freeze_last_layer_steps,
        )
        self.head = DINOHead(
            backbone.feature_dim,
            out_dim,
            hidden_dim,
            bottleneck_dim,
            head_layers,
            head_batch_norm,
            norm_last_layer,
        )
        self.teacher_backbone = self.ema.track(backbone)
        self.teacher_head = self.ema.track(self.head)
        self.centering = TeacherCentering(out_dim, centering, center_momentum)
        self.criterion = DINOLoss(student_temp)
        self.temp_schedule = (teacher_temp_start, teacher_temp, teacher_temp_warmup_steps)
        self.freeze_last_layer_steps = freeze_last_layer_steps

    def teacher_temp_now(self) -> float:
        """Teacher temperature at the current step."""
        start, end, warmup = self.temp_schedule
        return teacher_temperature(self.ema.count(), warmup, start, end)

    def training_step(
        self, batch: Batch, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        views = self.views(batch, generator)
        if len(views) < NUM_GLOBAL:
            raise ValueError(f"DINO needs at least {NUM_GLOBAL} views, got {len(views)}")
        n = views[0].shape[0]
        feats = encode_by_shape(self.backbone.forward_features, views)  # [V * n, D]
        frozen = self.ema.count() < self.freeze_last_layer_steps
        student = list(self.head(feats, freeze_last_layer=frozen).split(n))  # V x [n, K]
        with torch.no_grad():
            t_feats = self.teacher_backbone.forward_features(torch.cat(views[:NUM_GLOBAL]))
            temp = self.teacher_temp_now()
            targets = self.centering(self.teacher_head(t_feats), temp)  # [2n, K]
        loss = self.criterion(student, list(targets.split(n)))
        return {
            "loss": loss,
            "embedding": feats[:n].detach(),
            "teacher_temp": torch.tensor(temp),
            "momentum": torch.tensor(self.ema.momentum),
            **teacher_stats(targets),
        }

    def on_step_end(self, step: int, max_steps: int) -> None:
        """Record ``step`` (optimizer steps done) and move the teacher towards the student."""
        self.ema.step(step, max_steps)
