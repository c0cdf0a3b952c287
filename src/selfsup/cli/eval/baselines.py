"""``--baseline``: evaluate a reference encoder beside a checkpoint, on the same data.

``random-init``: the checkpoint's own method and backbone, freshly initialised with the run's
seed (what pretraining started from). ``mfcc``: MFCC statistics of audio clips (mean and std
over real frames of MFCC, deltas and delta-deltas); with ``linear`` it is the classic MFCC +
logistic-regression baseline. Results go to ``RUN/eval/<protocol>-<baseline>.json``, so the
report lists them beside the checkpoint's own rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from torch import nn

    from selfsup.config.schema import RunConfig
    from selfsup.methods.base import Method

BASELINES = ("random-init", "mfcc")
# Protocols that only read an encoder (frozen features, its views, its weights to fine-tune).
BASELINE_PROTOCOLS = ("knn", "linear", "fewshot", "retrieval", "tsne", "monitors", "superb")
TRAINABLE_PROTOCOLS = ("finetune",)  # random-init only: MFCC statistics have no weights


def check_baseline(name: str, protocol: str) -> None:
    """One line when ``protocol`` cannot evaluate the ``name`` baseline."""
    if protocol in TRAINABLE_PROTOCOLS and name == "random-init":
        return
    if protocol not in BASELINE_PROTOCOLS:
        raise ConfigError(f"eval {protocol} has no --baseline {name} (it needs trained weights)")


def random_init_method(ckpt: Path, cfg: RunConfig, device: str) -> Method:
    """The checkpoint's method rebuilt from its config and seed, without its weights (the
    tokenizer a text backbone needs still comes from the checkpoint)."""
    import torch

    from selfsup.engine.build import build_method
    from selfsup.engine.safe_load import read_checkpoint
    from selfsup.modalities import modality_of_backbone

    state = {
        k.removeprefix("method."): v for k, v in read_checkpoint(ckpt, "cpu")["state_dict"].items()
    }
    given = modality_of_backbone(cfg.backbone.name).saved_backbone_args(state)
    torch.manual_seed(cfg.train.seed)
    return build_method(cfg, **given).to(device).eval()


def mfcc_encoder(encoder: Any, device: str) -> nn.Module:
    """MFCC statistics at the sample rate of the checkpoint's audio ``encoder``."""
    from selfsup.eval.audio_baselines import MFCCStats

    rate = getattr(encoder, "sample_rate", None)
    if getattr(encoder, "modality", None) != "audio" or not isinstance(rate, int):
        raise ConfigError(
            f"--baseline mfcc needs an audio checkpoint, got a {type(encoder).__name__}"
        )
    return MFCCStats(rate).to(device).eval()
