"""Self-paced learning: hard samples (by tracked loss) are skipped or down-weighted."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from run_helpers import StepRecorder, run_killed, tiny_digits_simclr
from selfsup.config.load import load_config, save_config
from selfsup.config.schema import SelfPacedConfig
from selfsup.engine.run import pretrain, resume_run
from selfsup.engine.self_paced import IndexedDataset, SelfPaced, weighted_loss
from selfsup.registry import ConfigError


def crafted(mode: str, keep: float = 0.5) -> SelfPaced:
    """A table of 8 seen samples with losses 1..8."""
    sp = SelfPaced(SelfPacedConfig(enabled=True, keep=keep, mode=mode, momentum=0.5), 10)
    sp.update(torch.arange(8), torch.arange(1.0, 9.0))
    return sp


def test_skip_leaves_out_exactly_the_samples_above_the_keep_quantile() -> None:
    sp = crafted("skip")
    # quantile 0.5 of 1..8 is 4.5: samples with losses 5..8 (indices 4..7) are skipped.
    w = sp.weights(torch.tensor([0, 3, 4, 7, 9]), progress=0.0)
    assert w.tolist() == [1.0, 1.0, 0.0, 0.0, 1.0]  # index 9 was never seen: it counts


def test_down_weight_scales_hard_samples_by_threshold_over_loss() -> None:
    w = crafted("down_weight").weights(torch.tensor([2, 5, 7]), progress=0.0)
    assert w.tolist() == pytest.approx([1.0, 4.5 / 6.0, 4.5 / 8.0])


def test_the_weighted_loss_ignores_skipped_samples_and_keeps_gradients() -> None:
    losses = torch.tensor([1.0, 2.0, 30.0], requires_grad=True)
    loss = weighted_loss(losses, torch.tensor([1.0, 1.0, 0.0]))
    assert loss.item() == pytest.approx(1.5)
    loss.backward()
    assert losses.grad.tolist() == [0.5, 0.5, 0.0]


def test_the_table_is_an_ema_and_keep_follows_its_schedule() -> None:
    sp = crafted("skip")
    sp.update(torch.tensor([0]), torch.tensor([3.0]))
    assert sp.table[0].item() == pytest.approx(0.5 * 1.0 + 0.5 * 3.0)
    cfg = SelfPacedConfig(enabled=True, keep={"schedule": "linear", "start": 0.5, "end": 1.0})
    assert SelfPaced(cfg).keep_at(0.5) == pytest.approx(0.75)
    assert crafted("skip", keep=1.0).weights(torch.arange(8), 0.0).eq(1).all()


def test_indexed_items_carry_their_position() -> None:
    ds = IndexedDataset([{"input": torch.zeros(1), "label": 3}, None])
    assert ds[0]["index"] == 0 and ds[1] is None and len(ds) == 2


STEPS = 14  # digits train: 10 batches of 128 per epoch, so the second epoch revisits samples
OVERRIDES = [
    *tiny_digits_simclr(),
    "data.batch_size=128",
    "optim.name=sgd",
    f"train.max_steps={STEPS}",
    "train.checkpoint_every_n_steps=12",
    "train.log_every_n_steps=1",
    "self_paced.enabled=true",
    "self_paced.keep={schedule: linear, start: 0.5, end: 1.0}",
]


def losses() -> StepRecorder:
    return StepRecorder(lambda trainer, module, outputs: float(outputs["loss"]))


@pytest.mark.slow
def test_a_self_paced_run_skips_revisited_hard_samples_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    cfg = load_config(None, OVERRIDES)
    straight = losses()
    pretrain(cfg, run_dir=tmp_path / "straight", extra_callbacks=[straight])
    rows = list(csv.DictReader((tmp_path / "straight/csv/part-0/metrics.csv").open()))
    kept = {int(r["step"]): float(r["self_paced/kept"]) for r in rows if r.get("self_paced/kept")}
    assert all(k == 1.0 for s, k in kept.items() if s < 9)  # first epoch: nothing tracked yet
    assert min(k for s, k in kept.items() if s >= 11) < 0.9  # second: hard ones skipped
    save_config(cfg, tmp_path / "config.yaml")
    assert run_killed(tmp_path / "config.yaml", tmp_path / "killed", 12).returncode == 9
    resumed = losses()
    resume_run(tmp_path / "killed", extra_callbacks=[resumed])
    assert sorted(resumed.values) == list(range(13, STEPS + 1))
    for step, loss in resumed.values.items():  # the loss table came back with the checkpoint
        assert loss == pytest.approx(straight.values[step], rel=1e-5, abs=1e-6), step


def test_a_method_without_per_sample_losses_is_one_config_line(tmp_path: Path) -> None:
    cfg = load_config(None, [*OVERRIDES, "method.name=simsiam", "augment.name=simclr"])
    with pytest.raises(ConfigError, match=r"self_paced needs per-sample losses.*simclr"):
        pretrain(cfg, run_dir=tmp_path / "run")


@pytest.mark.parametrize(
    ("override", "message"),
    [("self_paced.keep=1.5", r"keep must stay in \(0, 1\]"), ("self_paced.mode=hard", "mode")],
)
def test_bad_self_paced_keys_are_config_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [*OVERRIDES, override])
