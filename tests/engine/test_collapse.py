"""The collapse alarm: its state machine on synthetic embeddings, and the guard in real runs."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from run_helpers import StepRecorder
from selfsup.config.load import load_config
from selfsup.engine.collapse import CollapseDetector
from selfsup.engine.run import pretrain
from selfsup.eval.monitors import embedding_std
from selfsup.methods import list_methods
from selfsup.registry import ConfigError
from tiny_methods import tiny_spec

DIM = 256


def collapsed_batch(gen: torch.Generator) -> torch.Tensor:
    """One shared direction plus tiny noise: every row nearly alike."""
    return torch.randn(1, DIM, generator=gen) + 1e-4 * torch.randn(64, DIM, generator=gen)


def healthy_batch(gen: torch.Generator) -> torch.Tensor:
    return torch.randn(64, DIM, generator=gen)


def test_collapsed_embeddings_alarm_after_exactly_patience_checks_and_once() -> None:
    gen = torch.Generator().manual_seed(0)
    detector = CollapseDetector(threshold=0.1, patience=5)
    messages = [detector.update(embedding_std(collapsed_batch(gen)), DIM, s) for s in range(12)]
    fired = [step for step, m in enumerate(messages) if m is not None]
    assert fired == [4]  # the 5th low check, and never again while still collapsed
    assert detector.alarms == 1 and detector.collapsed
    expected_limit = 0.1 / math.sqrt(DIM)
    expected = f"< {expected_limit:.4g} (10% of 1/sqrt({DIM})) for 5 steps at step 4"
    assert expected in str(messages[4])


def test_healthy_random_embeddings_never_alarm() -> None:
    gen = torch.Generator().manual_seed(1)
    detector = CollapseDetector(threshold=0.1, patience=1)
    for step in range(50):
        std = embedding_std(healthy_batch(gen))
        assert std == pytest.approx(1 / math.sqrt(DIM), rel=0.1)  # the isotropic value
        assert detector.update(std, DIM, step) is None
    assert detector.alarms == 0 and not detector.collapsed


def test_recovery_rearms_and_interruptions_reset_the_count() -> None:
    gen = torch.Generator().manual_seed(2)
    detector = CollapseDetector(threshold=0.1, patience=3)
    low, high = embedding_std(collapsed_batch(gen)), embedding_std(healthy_batch(gen))
    # Two low, one healthy, two low: never three in a row, so no alarm.
    pattern = [low, low, high, low, low]
    assert all(detector.update(s, DIM, i) is None for i, s in enumerate(pattern))
    assert detector.update(low, DIM, 5) is not None  # third low in a row: first episode
    assert detector.update(high, DIM, 6) is None and not detector.collapsed  # recovered
    second = [detector.update(low, DIM, 7 + i) for i in range(4)]
    assert [m is not None for m in second] == [False, False, True, False]
    assert detector.alarms == 2


def test_simsiam_stop_gradient_switch_changes_gradients_not_loss() -> None:
    from selfsup.augment import create_augment
    from selfsup.backbones import create_backbone
    from selfsup.methods import create_method

    images = torch.randint(0, 256, (8, 3, 20, 20), dtype=torch.uint8)
    batch = {"input": images, "label": torch.full((8,), -1)}
    results = []
    for stop_gradient in (True, False):
        torch.manual_seed(0)  # same weights for both settings
        method = create_method(
            "simsiam",
            backbone=create_backbone("resnet_tiny"),
            augment=create_augment("simclr", size=16),
            proj_hidden_dim=32,
            proj_out_dim=16,
            pred_hidden_dim=8,
            stop_gradient=stop_gradient,
        )
        loss = method.training_step(batch, generator=torch.Generator().manual_seed(0))["loss"]
        loss.backward()
        projector: torch.nn.Module = method.projector  # type: ignore[assignment]
        grad = torch.cat([p.grad.flatten() for p in projector.parameters() if p.grad is not None])
        results.append((loss.item(), grad))
    (loss_sg, grad_sg), (loss_free, grad_free) = results
    assert loss_sg == pytest.approx(loss_free, abs=1e-6)  # the forward pass is the same
    # Without the stop-gradient the targets pass gradient back into the projector too.
    assert not torch.allclose(grad_sg, grad_free, atol=1e-6)


@pytest.mark.parametrize(("threshold", "patience"), [(0.0, 5), (1.5, 5), (0.1, 0)])
def test_bad_settings_are_config_errors(threshold: float, patience: int) -> None:
    with pytest.raises(ConfigError, match=r"eval\.collapse_"):
        CollapseDetector(threshold, patience)


# ---- the guard in real runs: a CIFAR-10 subset, resnet_tiny at 32 px, batch 64 ----------------

CIFAR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cifar10" / "train"
PER_CLASS = 100  # 1,000 images: decoded in about a second, 15 steps of 64 per epoch
PATIENCE = 5
HEALTHY_STEPS = 6  # > PATIENCE, so a collapsing method would have raised the alarm
OPTIM = ["optim.name=lars", "optim.warmup_epochs=0"]
ALARM = "embedding collapse:"
# A method's tiny backbone (its ``tiny`` metadata) -> its overrides for these 32 px runs.
ENGINE_BACKBONES = {
    "resnet_tiny": ["backbone.name=resnet_tiny"],
    "vit_tiny": ["backbone.name=vit_tiny", "backbone.img_size=32", "backbone.patch_size=8"],
}


@pytest.fixture(scope="module")
def cifar_subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of symlinks to the first ``PER_CLASS`` images of every class."""
    if not CIFAR.is_dir():
        pytest.skip(f"CIFAR-10 not found at {CIFAR}")
    root = tmp_path_factory.mktemp("cifar_subset")
    for class_dir in sorted(p for p in CIFAR.iterdir() if p.is_dir()):
        (root / class_dir.name).mkdir()
        for image in sorted(class_dir.iterdir())[:PER_CLASS]:
            (root / class_dir.name / image.name).symlink_to(image.resolve())
    return root


def std_recorder() -> StepRecorder:
    """Per-step (embedding std, its width, ``collapsed`` flag), as the module and the monitor
    left them; steps without an embedding record nothing."""

    def read(trainer: L.Trainer, module: L.LightningModule, outputs: Any) -> Any:
        std = getattr(module, "latest_embedding_std", None)
        if std is None:
            return None
        return std, module.embedding_dim, float(trainer.callback_metrics["collapsed"])

    return StepRecorder(read)


@dataclasses.dataclass
class StdRun:
    """What :func:`run` saw: per-step stds and ``collapsed`` flags, the width, the steps."""

    stds: list[float]
    collapsed: list[float]
    dim: int
    steps: int
    run_dir: Path


def run(data: Path, tmp: Path, steps: int, extra: list[str]) -> StdRun:
    cfg = load_config(
        None,
        [
            "data.source=folder",
            f"data.path={data}",
            "data.size=32",
            "data.batch_size=64",
            "backbone.name=resnet_tiny",
            "augment.name=simclr",
            "augment.size=32",
            *OPTIM,
            f"train.max_steps={steps}",
            "train.progress=false",
            "train.checkpoint_every_n_steps=100000",
            "eval.knn_every_n_epochs=0",
            f"eval.collapse_patience={PATIENCE}",
            *extra,
        ],
    )
    recorder = std_recorder()
    result = pretrain(cfg, run_dir=tmp, extra_callbacks=[recorder])
    readings = recorder.series()
    dim = readings[-1][1] if readings else 0
    return StdRun(
        [r[0] for r in readings], [r[2] for r in readings], dim, result.global_step, result.run_dir
    )


def method_overrides(name: str, data: Path, tmp: Path) -> list[str]:
    """``method.*`` / ``backbone.*`` overrides for method ``name`` from its ``tiny`` metadata;
    methods it needs a trained run of (BEiT: a vq_tokenizer) are trained first."""
    spec = tiny_spec(name)
    assert spec.backbone in ENGINE_BACKBONES, f"no 32 px settings for '{spec.backbone}'"
    extra = [f"method.name={name}", *ENGINE_BACKBONES[spec.backbone]]
    extra += [f"method.{key}={value}" for key, value in spec.args.items()]
    for key, other in spec.runs.items():
        other_run = run(data, tmp / other, HEALTHY_STEPS, method_overrides(other, data, tmp))
        extra.append(f"method.{key}={other_run.run_dir}")
    return extra


def alarms(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "selfsup.engine" and r.levelno == logging.WARNING and ALARM in r.message
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", list_methods())
def test_every_method_trains_without_collapse_alarm(
    name: str, cifar_subset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="selfsup.engine")
    spec = tiny_spec(name)
    if spec.modality != "image":
        pytest.skip(f"'{name}' trains on {spec.modality}: this run is on images")
    if not spec.embedding:
        pytest.skip(f"'{name}' declares no embedding to monitor")
    if spec.towers:
        pytest.skip(f"'{name}' trains on paired data (its engine run is in its own tests)")
    extra = method_overrides(name, cifar_subset, tmp_path)
    result = run(cifar_subset, tmp_path / name, HEALTHY_STEPS, extra)
    # A method that declares an embedding must give the monitor one every step.
    assert result.steps == HEALTHY_STEPS and len(result.stds) == HEALTHY_STEPS
    limit = 0.1 / math.sqrt(result.dim)
    assert result.stds[-1] > 2 * limit, result.stds
    assert result.collapsed == [0.0] * HEALTHY_STEPS
    assert alarms(caplog) == []


@pytest.mark.slow
def test_stop_on_collapse_warns_once_and_ends_the_run(
    cifar_subset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A threshold of 99% of the isotropic std: a fresh ResNet's post-ReLU features (about half
    # of it) count as collapsed, so the alarm must fire on the PATIENCE-th step and stop there.
    caplog.set_level(logging.INFO, logger="selfsup.engine")
    extra = ["method.name=simclr", "eval.collapse_threshold=0.99", "eval.stop_on_collapse=true"]
    recorder = run(cifar_subset, tmp_path, 4 * PATIENCE, extra)
    limit = 0.99 / math.sqrt(recorder.dim)
    assert all(std < limit for std in recorder.stds), recorder.stds
    assert recorder.steps == PATIENCE
    assert recorder.collapsed == [0.0] * (PATIENCE - 1) + [1.0]
    [message] = alarms(caplog)
    assert f"for {PATIENCE} steps at step {PATIENCE}" in message
    assert f"std {recorder.stds[-1]:.4g} < {limit:.4g} (99% of 1/sqrt({recorder.dim}))" in message


def simsiam_run(data: Path, tmp: Path, stop_gradient: bool) -> tuple[list[float], list[dict]]:
    """60 steps of SimSiam at 16 px, constant LR; the per-step rank and the run's alarms."""
    cfg = load_config(
        None,
        [
            "data.source=folder",
            f"data.path={data}",
            "data.size=32",
            "data.batch_size=64",
            "backbone.name=resnet_tiny",
            "augment.name=simclr",
            "augment.size=16",
            "method.name=simsiam",
            "method.proj_hidden_dim=256",
            "method.proj_out_dim=256",
            "method.proj_layers=2",
            "method.pred_hidden_dim=64",
            f"method.stop_gradient={str(stop_gradient).lower()}",
            "optim.name=sgd",
            "optim.base_lr=1.2",  # 0.3 at batch 64
            "optim.weight_decay=0.0005",
            "optim.warmup_epochs=0",
            "optim.final_lr_ratio=1.0",
            "train.max_steps=60",
            "train.progress=false",
            "train.checkpoint_every_n_steps=100000",
            "eval.knn_every_n_epochs=0",
            "eval.collapse_patience=10",
            "eval.collapse_rank_threshold=0.2",
        ],
    )
    recorder = StepRecorder(
        lambda trainer, module, outputs: float(module.latest_embedding_rank)  # type: ignore[attr-defined]
    )
    result = pretrain(cfg, run_dir=tmp, extra_callbacks=[recorder])
    events = json.loads((result.run_dir / "run.json").read_text())["collapse_events"]
    return recorder.series(), events


@pytest.mark.slow
def test_simsiam_without_stop_gradient_collapses_and_the_alarm_says_so(
    cifar_subset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Without the stop-gradient SimSiam's loss has a trivial minimum: its features fold into a
    # few directions (dimensional collapse; the std alone moves little this early), which the
    # effective rank shows within a few dozen steps. The same run with it stays spread out.
    caplog.set_level(logging.INFO, logger="selfsup.engine")
    healthy_ranks, healthy_events = simsiam_run(cifar_subset, tmp_path / "sg", True)
    assert healthy_events == [] and alarms(caplog) == []
    broken_ranks, broken_events = simsiam_run(cifar_subset, tmp_path / "no-sg", False)
    assert len(broken_events) == 1 and "effective rank" in str(broken_events[0]["message"])
    [message] = alarms(caplog)
    assert "effective rank" in message and "< 12.8 (20% of 64)" in message
    assert sum(broken_ranks[-20:]) < 0.5 * sum(healthy_ranks[-20:])


# ---- effective-rank alarm ----------------------------------------------------------------------


def test_dimensional_collapse_with_healthy_std_alarms_on_rank() -> None:
    from selfsup.eval.monitors import effective_rank

    gen = torch.Generator().manual_seed(3)
    # Spread over only 2 directions: the std stays healthy, the rank does not.
    z = torch.randn(64, 2, generator=gen) @ torch.randn(2, DIM, generator=gen)
    std, rank = embedding_std(z), effective_rank(z)
    detector = CollapseDetector(threshold=0.1, patience=3, rank_threshold=0.1)
    assert std > detector.limit(DIM) and rank < detector.rank_limit(64)
    messages = [detector.update(std, DIM, s, rank, 64) for s in range(3)]
    assert messages[:2] == [None, None] and "effective rank" in str(messages[2])
    assert str(messages[2]).startswith("embedding collapse: effective rank")  # std was fine
    assert detector.events[0]["step"] == 2 and detector.events[0]["rank"] == rank
    healthy = healthy_batch(gen)
    assert detector.update(embedding_std(healthy), DIM, 3, effective_rank(healthy), 64) is None
    assert not detector.collapsed


def test_healthy_rank_never_alarms_and_rank_check_can_be_off() -> None:
    from selfsup.eval.monitors import effective_rank

    gen = torch.Generator().manual_seed(4)
    on, off = CollapseDetector(patience=1), CollapseDetector(patience=1, rank_threshold=0.0)
    for step in range(4):
        z = healthy_batch(gen)
        assert on.update(embedding_std(z), DIM, step, effective_rank(z), 64) is None
    assert off.update(1.0, DIM, 0, 1.0, 64) is None  # rank 1, but the check is off
    with pytest.raises(ConfigError, match="collapse_rank_threshold"):
        CollapseDetector(rank_threshold=1.0)
