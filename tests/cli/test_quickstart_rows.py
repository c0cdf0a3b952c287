"""The quickstart's random-init row is the very network its pretraining starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from selfsup.cli.quickstart import quickstart_config, starting_network
from selfsup.engine.build import build_split
from selfsup.engine.run import pretrain


class FirstWeights(L.Callback):
    """Keeps a copy of the backbone's weights as the first training step begins."""

    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] = {}

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, idx: int) -> None:
        if not self.state:
            self.state = {
                k: v.detach().clone() for k, v in pl_module.method.backbone.state_dict().items()
            }


@pytest.mark.parametrize("whiten", [0, 64])
def test_random_init_row_equals_the_weights_pretraining_starts_from(
    tmp_path: Path, whiten: int
) -> None:
    overrides = ["train.max_steps=1", "train.progress=false", "eval.knn_every_n_epochs=0"]
    cfg = quickstart_config(str(tmp_path), 1, [*overrides, f"train.whiten_stem_images={whiten}"])
    train = build_split(cfg, "train")
    row = starting_network(cfg, train).backbone
    first = FirstWeights()
    pretrain(cfg, extra_callbacks=[first])
    assert first.state.keys() == row.state_dict().keys()
    for name, value in row.state_dict().items():
        torch.testing.assert_close(first.state[name], value, rtol=0, atol=0, msg=name)
    # And the whitening is there only when asked for.
    plain = starting_network(quickstart_config(str(tmp_path), 1, overrides), train).backbone
    assert torch.equal(plain.stem_conv().weight, row.stem_conv().weight) == (not whiten)
