"""``data.source: audio`` trains through the engine like images: batches are NaN-padded clips
with lengths, the online kNN reads whole clips, and a resumed run sees the same crops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch

from data.audio_helpers import FSDD_PATTERN, fsdd_like
from run_helpers import StepRecorder
from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import BACKBONES, register_backbone
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain, resume_run
from selfsup.methods.base import Method
from selfsup.methods.registry import METHODS, register_method
from selfsup.nn.audio_padding import clip_lengths, zero_padding


class PooledAudio(Backbone):
    """Test-only audio encoder: per-clip mean and energy of its real samples, projected."""

    modality: ClassVar[str] = "audio"
    feature_dim = 8

    def __init__(self, sample_rate: int = 8000) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.proj = torch.nn.Linear(2, self.feature_dim)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        values, mask = zero_padding(x)
        n = mask.sum(1, keepdim=True).clamp(min=1)
        stats = torch.cat([values.sum(1, keepdim=True), (values**2).sum(1, keepdim=True)], 1)
        return self.proj(stats / n)


class PooledRegression(Method):
    """Test-only audio method: pulls the features of each clip toward zero (any gradient)."""

    modality: ClassVar[str] = "audio"

    def training_step(
        self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        x = batch["input"]
        assert torch.equal(clip_lengths(x), batch["length"])  # padding is NaN, lengths agree
        z = self.backbone.forward_features(x)
        return {"loss": (z**2).mean(), "embedding": z.detach()}


@pytest.fixture
def audio_parts() -> Iterator[None]:
    def pooled_audio(sample_rate: int = 8000) -> PooledAudio:
        return PooledAudio(sample_rate)

    register_backbone("test_pooled_audio")(pooled_audio)
    register_method("test_pooled_regression")(PooledRegression)
    try:
        yield
    finally:
        BACKBONES.unregister("test_pooled_audio")
        METHODS.unregister("test_pooled_regression")


def overrides(data: Path, *extra: str) -> list[str]:
    return [
        "data.source=audio",
        f"data.path={data}",
        "data.sample_rate=8000",
        "data.max_seconds=0.3",
        f"data.label_pattern={FSDD_PATTERN}",
        "data.label=digit",
        "data.test_split={n: '0-1'}",
        "data.batch_size=6",
        "backbone.name=test_pooled_audio",
        "augment.name=none",
        "method.name=test_pooled_regression",
        "optim.name=adamw",
        "optim.base_lr=0.01",
        "optim.warmup_epochs=0",
        "train.progress=false",
        "train.seed=5",
        *extra,
    ]


class Batches(StepRecorder):
    """Records each step's input batch (with NaN as a sentinel number, so equal batches
    compare equal)."""

    def __init__(self) -> None:
        super().__init__(lambda *a: None)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, idx: int) -> None:
        self.values[trainer.global_step + 1] = torch.nan_to_num(batch["input"], nan=-9.0)


def test_an_audio_run_trains_with_padded_batches_and_online_knn(
    tmp_path: Path, audio_parts: None
) -> None:
    data = fsdd_like(tmp_path / "clips", speakers=("ann", "bob"), takes=6)
    cfg = load_config(
        None, overrides(data, "train.max_epochs=2", "eval.knn_every_n_epochs=1", "eval.knn_k=3")
    )
    seen = Batches()
    result = pretrain(cfg, run_dir=tmp_path / "run", extra_callbacks=[seen])
    assert result.global_step == 2 * (24 // 6)  # 24 training clips (n 2..5), batches of 6
    batches = list(seen.values.values())
    assert max(int(b.shape[1]) for b in batches) == 2400  # 0.35 s clips cropped to 0.3 s
    assert any((b == -9.0).any() for b in batches)  # shorter clips padded
    assert len(result.knn_history) == 2  # the held-out clips (n 0..1) as queries


def test_a_resumed_audio_run_sees_the_same_crops(tmp_path: Path, audio_parts: None) -> None:
    data = fsdd_like(tmp_path / "clips", speakers=("ann", "bob"), takes=6)
    # Long clips, so every crop is random: 0.1..0.35 s clips cropped to 0.12 s.
    args = [*overrides(data, "train.max_steps=10", "eval.knn_every_n_epochs=0")]
    args = [a if not a.startswith("data.max_seconds") else "data.max_seconds=0.12" for a in args]
    straight = Batches()
    pretrain(load_config(None, args), run_dir=tmp_path / "straight", extra_callbacks=[straight])
    killed = tmp_path / "killed"
    pretrain(
        load_config(None, [*args[:-1], "train.max_steps=6", "train.checkpoint_every_n_steps=6"]),
        run_dir=killed,
    )
    resumed = Batches()
    resume_run(killed, ["train.max_steps=10"], extra_callbacks=[resumed])
    assert sorted(resumed.values) == [7, 8, 9, 10]
    for step, batch in resumed.values.items():
        assert torch.equal(batch, straight.values[step]), step
