"""wav2vec 2.0 through the engine: its codebook scalars and the gradient norm are logged, the
collapse monitor reads its embedding, the quantizer's schedule follows the engine's steps, and
a NaN loss stops the run in one line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from data.audio_helpers import FSDD_PATTERN, fsdd_like
from selfsup.config.load import load_config
from selfsup.engine.run import pretrain
from selfsup.losses.wav2vec2 import Wav2Vec2Loss, Wav2Vec2Terms
from selfsup.methods.audio.wav2vec2 import TINY_ARGS, Wav2Vec2
from selfsup.registry import RunError
from tiny_methods import TINY_AUDIO


def overrides(data: Path, *extra: str) -> list[str]:
    backbone = [f"backbone.{k}={v}" for k, v in TINY_AUDIO.items()]
    method = [f"method.{k}={v}" for k, v in TINY_ARGS.items()]
    return [
        "data.source=audio",
        f"data.path={data}",
        "data.sample_rate=8000",
        "data.max_seconds=0.3",
        f"data.label_pattern={FSDD_PATTERN}",
        "data.label=digit",
        "data.test_split={n: '0-1'}",
        "data.batch_size=6",
        "backbone.name=wav2vec2_tiny",
        *backbone,
        "augment.name=none",
        "method.name=wav2vec2",
        *method,
        "method.temperature=[2.0, 0.5, 0.9]",
        "optim.name=adamw",
        "optim.base_lr=0.01",
        "optim.warmup_epochs=0",
        "train.progress=false",
        "train.log_every_n_steps=1",
        "train.loggers=[csv]",
        "eval.knn_every_n_epochs=0",
        *extra,
    ]


def test_wav2vec2_logs_its_codebook_and_is_watched_for_collapse(tmp_path: Path) -> None:
    data = fsdd_like(tmp_path / "clips", takes=6)
    cfg = load_config(None, overrides(data, "train.max_steps=4"))
    result = pretrain(cfg, run_dir=tmp_path / "run")
    assert result.global_step == 4
    assert isinstance(result.method, Wav2Vec2)
    assert result.method.quantizer.counter.count() == 4
    assert result.method.quantizer.temperature == pytest.approx(2.0 * 0.9**4)
    (metrics,) = (tmp_path / "run").glob("**/metrics.csv")
    rows = list(csv.DictReader(metrics.open()))
    logged = {k for row in rows for k, v in row.items() if v}
    assert {"code_perplexity", "prob_perplexity", "gumbel_temperature"} <= logged
    assert {"embedding_std", "effective_rank"} <= logged  # the collapse monitor's inputs
    norms = [float(r["grad_norm"]) for r in rows if r.get("grad_norm")]
    assert len(norms) == 4 and all(n > 0 for n in norms)  # before clipping, every step
    temps = [float(r["gumbel_temperature"]) for r in rows if r.get("gumbel_temperature")]
    assert temps == pytest.approx([2.0 * 0.9**s for s in range(len(temps))])


def test_a_nan_wav2vec2_loss_stops_the_run_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forward = Wav2Vec2Loss.forward

    def poisoned(self: Wav2Vec2Loss, *args: object, **kwargs: object) -> Wav2Vec2Terms:
        terms = forward(self, *args, **kwargs)  # type: ignore[arg-type]
        nan = torch.full_like(terms.contrastive, float("nan"))
        assert terms.per_utterance is not None
        return Wav2Vec2Terms(
            nan, terms.diversity, terms.feature_penalty, terms.accuracy, terms.scored,
            terms.per_utterance + nan,
        )  # fmt: skip

    monkeypatch.setattr(Wav2Vec2Loss, "forward", poisoned)
    data = fsdd_like(tmp_path / "clips", takes=6)
    cfg = load_config(None, overrides(data, "train.max_steps=3"))
    with pytest.raises(RunError, match="loss is nan at step 0") as err:
        pretrain(cfg, run_dir=tmp_path / "run")
    assert "\n" not in str(err.value)
