"""A curriculum moves method and view keys with training progress, and resumes exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from run_helpers import StepRecorder, run_killed, tiny_digits_simclr
from selfsup.config.curriculum import scheduled_keys
from selfsup.config.load import load_config, save_config
from selfsup.engine.build import build_method
from selfsup.engine.curriculum import Curriculum
from selfsup.engine.run import pretrain, resume_run
from selfsup.registry import ConfigError
from selfsup.report import load_run, render_report

STEPS = 12
SCHEDULES = [
    "augment.color_strength={schedule: linear, start: 0.1, end: 0.9}",
    "augment.size={schedule: step, values: [8, 6], at: [0.5]}",
]


def views_now() -> StepRecorder:
    """Per step (before it runs): the views' brightness strength and size, and the logged
    curriculum values."""

    def read(trainer, module, optimizer):
        spec = module.method.augment.specs[0]
        return spec.brightness, spec.size, dict(module._curriculum_values)

    return StepRecorder(read, at="before_optimizer_step")


def overrides(extra: list[str] = ()) -> list[str]:
    return [*tiny_digits_simclr(), "optim.name=sgd", f"train.max_steps={STEPS}", *SCHEDULES, *extra]


def test_view_keys_follow_their_closed_form_at_every_step(tmp_path: Path) -> None:
    recorder = views_now()
    pretrain(load_config(None, overrides()), run_dir=tmp_path / "run", extra_callbacks=[recorder])
    assert sorted(recorder.values) == list(range(STEPS))
    for step, (brightness, size, logged) in recorder.values.items():
        strength = 0.1 + 0.8 * step / STEPS
        assert brightness == pytest.approx(0.8 * strength), step  # SimCLR: brightness 0.8 s
        assert size == (8 if step / STEPS < 0.5 else 6), step
        assert logged == {"augment.color_strength": pytest.approx(strength), "augment.size": size}
    html = render_report(load_run(tmp_path / "run"))
    assert 'id="curriculum-augment.size"' in html and "Curriculum: augment.color_strength" in html


@pytest.mark.slow
def test_a_killed_and_resumed_run_repeats_the_schedule(tmp_path: Path) -> None:
    straight = views_now()
    cfg = load_config(None, overrides(["train.checkpoint_every_n_steps=4"]))
    pretrain(cfg, run_dir=tmp_path / "straight", extra_callbacks=[straight])
    save_config(cfg, tmp_path / "config.yaml")
    proc = run_killed(tmp_path / "config.yaml", tmp_path / "killed", 8)
    assert proc.returncode == 9, proc.stderr[-2000:]
    resumed = views_now()
    resume_run(tmp_path / "killed", extra_callbacks=[resumed])
    assert sorted(resumed.values) == list(range(8, STEPS))
    for step, now in resumed.values.items():
        assert now == straight.values[step], step


def test_a_method_key_moves_the_attribute_the_method_reads() -> None:
    cfg = load_config(
        None,
        [
            "data.source=digits",
            "backbone.name=vit_tiny",
            "backbone.img_size=8",
            "backbone.patch_size=4",
            "augment.name=crop_flip",
            "method.name=mae",
            "method.decoder_dim=16",
            "method.decoder_depth=1",
            "method.decoder_heads=2",
            "method.mask_ratio={schedule: cosine, start: 0.5, end: 0.75}",
        ],
    )
    method = build_method(cfg)
    assert method.mask_ratio == 0.5  # built with the value at progress 0
    curriculum = Curriculum(cfg, scheduled_keys(cfg), method)
    assert curriculum.apply(method, 0.5) == {"method.mask_ratio": pytest.approx(0.625)}
    assert method.mask_ratio == pytest.approx(0.625)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("method.temperature={schedule: linear, start: 0.1, end: 0.5}", "SimCLR schedules none"),
        ("augment.scale_min={schedule: linear, start: 0.1, end: 1.5}", "reaches 1.5"),
    ],
)
def test_keys_that_cannot_follow_a_schedule_are_one_line(extra: str, message: str) -> None:
    cfg = load_config(None, [*tiny_digits_simclr(), extra])
    with pytest.raises(ConfigError, match=message) as err:
        Curriculum(cfg, scheduled_keys(cfg), build_method(cfg))
    assert "\n" not in str(err.value)


JIGSAW = [
    "data.source=digits",
    "backbone.name=resnet_tiny",
    "augment.name=crop_flip",
    "method.name=jigsaw",
    "method.num_permutations=10",
    "method.hidden_dim=8",
]


def test_jigsaw_hardness_grows_to_its_permutation_set_and_no_further() -> None:
    grow = "method.active_permutations={schedule: linear, start: 2, end: 10}"
    cfg = load_config(None, [*JIGSAW, grow])
    method = build_method(cfg)
    assert method.active_permutations == 2
    Curriculum(cfg, scheduled_keys(cfg), method).apply(method, 1.0)
    assert method.active_permutations == 10
    past = load_config(None, [*JIGSAW, grow.replace("end: 10", "end: 50")])
    with pytest.raises(ConfigError, match="reaches 50") as err:
        Curriculum(past, scheduled_keys(past), build_method(past))
    assert "\n" not in str(err.value)
