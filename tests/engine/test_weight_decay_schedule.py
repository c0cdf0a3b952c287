"""Cosine weight-decay schedule (``optim.final_weight_decay``): the pure ramp, and what the
optimizer's groups hold at each step of a tiny run on the bundled ``digits``."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from torch import nn

from run_helpers import StepRecorder, fake_run_clock, tiny_digits_simclr
from selfsup.config.load import load_config
from selfsup.config.schema import OptimConfig
from selfsup.engine.module import SSLModule
from selfsup.engine.run import pretrain
from selfsup.registry import ConfigError
from selfsup.schedules import cosine_ramp

STEPS = 5
START, END = 0.04, 0.4
TINY_RUN = [
    *tiny_digits_simclr(),
    f"optim.weight_decay={START}",
    "optim.warmup_epochs=0",
    f"train.max_steps={STEPS}",
    "train.log_every_n_steps=1",
    "train.checkpoint_every_n_steps=100000",
]


def test_cosine_ramp_endpoints_and_midpoint() -> None:
    assert cosine_ramp(0.0, START, END) == pytest.approx(START)
    assert cosine_ramp(1.0, START, END) == pytest.approx(END)
    assert cosine_ramp(0.5, START, END) == pytest.approx((START + END) / 2)
    quarter = END + (START - END) * 0.5 * (1 + math.cos(math.pi / 4))
    assert cosine_ramp(0.25, START, END) == pytest.approx(quarter)
    assert cosine_ramp(0.25, START, END) < (3 * START + END) / 4  # slow start, not linear
    assert cosine_ramp(0.5, END, START) == pytest.approx((START + END) / 2)  # may go down too
    with pytest.raises(ValueError, match="progress"):
        cosine_ramp(1.5, START, END)


def group_recorder() -> StepRecorder:
    """Each step's group weight decays as the optimizer is about to read them."""
    return StepRecorder(
        lambda trainer, module, optimizer: [g["weight_decay"] for g in optimizer.param_groups],
        at="before_optimizer_step",
    )


def train(tmp_path: Path, overrides: list[str]) -> tuple[StepRecorder, Path]:
    cfg = load_config(None, [*TINY_RUN, *overrides])
    recorder = group_recorder()
    result = pretrain(cfg, run_dir=tmp_path / "run", extra_callbacks=[recorder])
    assert result.global_step == STEPS
    return recorder, result.run_dir


def logged(run_dir: Path, column: str) -> list[float]:
    rows = list(csv.DictReader((run_dir / "csv" / "part-0" / "metrics.csv").open()))
    return [float(r[column]) for r in rows if r.get(column)]


@pytest.mark.parametrize("name", ["lars", "sgd", "adamw"])
def test_regular_group_follows_the_schedule_and_bias_norm_stays_zero(
    tmp_path: Path, name: str
) -> None:
    recorder, run_dir = train(tmp_path, [f"optim.name={name}", f"optim.final_weight_decay={END}"])
    assert sorted(recorder.values) == list(range(STEPS))
    for step, (regular, bias_norm) in recorder.values.items():
        assert regular == pytest.approx(cosine_ramp(step / STEPS, START, END)), step
        assert bias_norm == 0.0
    assert recorder.values[STEPS - 1][0] > 0.3  # it really moved towards 0.4
    expected = [cosine_ramp(s / STEPS, START, END) for s in range(STEPS)]
    assert logged(run_dir, "weight_decay") == pytest.approx(expected)


def test_without_final_weight_decay_it_stays_constant(tmp_path: Path) -> None:
    recorder, run_dir = train(tmp_path, ["optim.name=adamw"])
    assert sorted(recorder.values) == list(range(STEPS))
    assert all(groups == [START, 0.0] for groups in recorder.values.values())
    assert logged(run_dir, "weight_decay") == []


def test_time_budget_drives_the_weight_decay(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_run_clock(monkeypatch)
    optim = OptimConfig(weight_decay=START, final_weight_decay=END)
    module = SSLModule(
        nn.Linear(2, 2),  # type: ignore[arg-type]  # only the clock and config are used
        optim,
        lr=0.1,
        total_steps=10_000,
        warmup_steps=0,
        max_seconds=60.0,
    )
    module.clock.start()
    fake.now += 30.0  # half the budget after 10 of 10,000 steps
    assert module.weight_decay_at(10) == pytest.approx((START + END) / 2)
    fake.now += 60.0
    assert module.weight_decay_at(11) == pytest.approx(END)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.final_weight_decay=-0.1", r"optim\.final_weight_decay must be >= 0"),
        ("optim.final_weight_decay=abc", r"'optim\.final_weight_decay' expects"),
    ],
)
def test_bad_final_weight_decay_is_a_one_line_error(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        load_config(None, [*TINY_RUN, override])
    assert "\n" not in str(err.value)


def test_final_weight_decay_needs_a_decaying_group() -> None:
    with pytest.raises(ConfigError, match=r"needs optim\.weight_decay > 0"):
        load_config(None, [*TINY_RUN, "optim.weight_decay=0", "optim.final_weight_decay=0.4"])
    with pytest.raises(ValueError, match="weight-decay schedule"):
        SSLModule(
            nn.Linear(2, 2),  # type: ignore[arg-type]
            OptimConfig(weight_decay=0.0, final_weight_decay=0.4),
            lr=0.1,
            total_steps=10,
            warmup_steps=0,
        )


def test_final_weight_decay_loads_from_yaml_and_the_command_line(tmp_path: Path) -> None:
    preset = tmp_path / "run.yaml"
    preset.write_text(
        "backbone: {name: resnet_tiny}\naugment: {name: simclr}\nmethod: {name: simclr}\n"
        "optim: {weight_decay: 0.04, final_weight_decay: 0.2}\n"
    )
    assert load_config(preset).optim.final_weight_decay == 0.2
    cfg = load_config(preset, ["optim.final_weight_decay=0.4"])
    assert cfg.optim.final_weight_decay == 0.4
    assert load_config(preset, ["optim.final_weight_decay=null"]).optim.final_weight_decay is None
    assert load_config(None, TINY_RUN).optim.final_weight_decay is None
