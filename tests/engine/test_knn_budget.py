"""Under a time budget the online kNN reserves its closing evaluation, and says when that
evaluation would eat much of the budget."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch

from selfsup.data.tensor_dataset import ImageTensorDataset
from selfsup.engine.callbacks import OnlineKNN
from selfsup.engine.progress import ProgressClock


def images(n: int) -> ImageTensorDataset:
    return ImageTensorDataset(
        torch.zeros(n, 3, 8, 8, dtype=torch.uint8), torch.zeros(n, dtype=torch.int64), ["a"]
    )


@pytest.mark.parametrize(("budget", "warned"), [(1e-4, True), (1e6, False)])
def test_the_closing_knn_is_reserved_and_a_large_share_is_named(
    caplog: pytest.LogCaptureFixture, budget: float, warned: bool
) -> None:
    method = SimpleNamespace(embed=lambda x: x.float().flatten(1)[:, :4])
    module = SimpleNamespace(
        clock=ProgressClock(100, max_seconds=budget), method=method, device=torch.device("cpu")
    )
    knn = OnlineKNN(images(64), images(16), every_n_epochs=1, k=5, temperature=0.1, batch_size=8)
    with caplog.at_level(logging.WARNING, logger="selfsup"):
        knn.on_train_start(SimpleNamespace(is_global_zero=True), module)  # type: ignore[arg-type]
    assert module.clock.reserved["online kNN"] > 0
    assert ("eval.knn_bank_size" in caplog.text) is warned
