"""Throughput counts what the modality measures: items, or seconds of audio for audio runs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from selfsup.engine import callbacks
from selfsup.engine.callbacks import Throughput


class Logged:
    def __init__(self) -> None:
        self.values: list[float] = []

    def log(self, key: str, value: float, **_: Any) -> None:
        assert key == "img_s"
        self.values.append(value)


def run(meter: Throughput, batches: list[dict[str, torch.Tensor]], monkeypatch: Any) -> list[float]:
    ticks = iter(float(t) for t in range(len(batches)))  # one second per step
    monkeypatch.setattr(callbacks.time, "perf_counter", lambda: next(ticks))
    module, trainer = Logged(), SimpleNamespace(world_size=2)
    meter.on_train_start(trainer, module)  # type: ignore[arg-type]
    for i, batch in enumerate(batches):
        meter.on_train_batch_end(trainer, module, None, batch, i)  # type: ignore[arg-type]
    return module.values


def test_audio_throughput_is_seconds_of_audio(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = {"input": torch.zeros(4, 8000), "length": torch.tensor([8000, 4000, 4000, 8000])}
    seconds = Throughput(4, amount=lambda b: float(b["length"].sum()) / 8000)
    assert run(seconds, [batch] * 3, monkeypatch)[-1] == pytest.approx(3.0 * 2)  # x 2 ranks


def test_without_an_amount_it_counts_items(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = {"input": torch.zeros(4, 8000)}
    assert run(Throughput(4), [batch] * 3, monkeypatch)[-1] == pytest.approx(4.0 * 2)
