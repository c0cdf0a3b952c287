"""Typed run configuration. Config is data: these dataclasses import no behaviour.

Sections with a ``name`` (backbone, augment, method) and the data ``source`` keep their
remaining keys in ``args``; those are checked against the registered factory's signature, so a
new backbone or method brings its own schema.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class NamedConfig:
    """A registry entry by name plus its keyword arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    """Where batches come from. ``args`` go to the data source (path, size, cache, ...)."""

    source: str = "digits"
    args: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 256
    num_workers: int = 0
    train_split: str = "train"
    val_split: str = "val"


@dataclass
class OptimConfig:
    """Optimizer and per-step schedule. ``lr = base_lr * global_batch / 256``."""

    name: Literal["sgd", "adamw", "lars"] = "lars"
    base_lr: float = 0.3
    weight_decay: float = 1e-6
    momentum: float = 0.9
    betas: tuple[float, float] = (0.9, 0.999)
    trust_coefficient: float = 0.001
    exclude_bias_and_norm: bool = True
    warmup_epochs: float = 10.0
    final_lr_ratio: float = 0.0
    # Weight decay at the end of the run, reached on a cosine from ``weight_decay`` over the
    # whole run's progress (DINO: 0.04 -> 0.4); None keeps ``weight_decay`` constant. Only
    # groups that decay change: biases and norm parameters stay at 0.
    final_weight_decay: float | None = None
    grad_clip: float | None = None


# Values Lightning understands for these keys (selfsup's own ``auto`` picks per hardware).
PRECISIONS = ("auto", "32-true", "32", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true")
ACCELERATORS = ("auto", "cpu", "cuda", "gpu", "mps")
LOGGERS = ("tensorboard", "csv", "wandb", "mlflow")


@dataclass
class TrainConfig:
    """How long, where and how to train, and what to write to the run directory."""

    max_epochs: int = 100
    max_steps: int = -1
    max_minutes: float | None = None
    # What max_minutes counts: wall-clock, or this process's CPU time (all its threads), which
    # is the fair budget when other jobs share the machine.
    budget_clock: Literal["wall", "cpu"] = "wall"
    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "auto"
    sync_batchnorm: bool = False
    # How long a rank waits in a collective (all-reduce, barrier) for the others before the run
    # stops with an error naming it: a hung rank must not hang the rest forever.
    dist_timeout_minutes: float = 30.0
    channels_last: bool = True
    compile: bool = False
    # Initialise the backbone's first conv as ± patch-whitening filters of this many training
    # images before step 0 (label-free; 0: keep the random init). Not redone on resume.
    whiten_stem_images: int = 0
    seed: int = 0
    output_dir: str = "runs"
    run_name: str | None = None
    checkpoint_every_n_steps: int = 500
    keep_last: int = 3
    log_every_n_steps: int = 10
    # Steps whose loss is NaN/inf that are skipped (and counted) before the run stops; 0 stops
    # at the first one, naming the step and the last good checkpoint.
    skip_nonfinite: int = 0
    progress: bool = True
    # Where metrics go besides the run directory's CSV (always written: reports and resumes
    # read it): tensorboard, wandb, mlflow (the last two need their package installed).
    loggers: tuple[str, ...] = ("tensorboard", "csv")


@dataclass
class EvalConfig:
    """Online monitors during pretraining (kNN needs labels; embedding std is always on)."""

    knn_every_n_epochs: int = 1
    knn_k: int = 200
    knn_temperature: float = 0.1
    knn_bank_size: int = 10000
    knn_query_size: int = 2000
    batch_size: int = 512
    # Held-out loss of methods that define one (language models), logged as val_loss every
    # this many steps and when training ends (0: off), over at most val_loss_batches batches
    # of the data.val_split.
    val_loss_every_n_steps: int = 200
    val_loss_batches: int = 8
    # Collapse alarm: warn when the std of the L2-normalised embeddings stays below
    # collapse_threshold * 1/sqrt(D) (the isotropic value) for collapse_patience steps in a row.
    collapse_threshold: float = 0.1
    collapse_patience: int = 20
    # ... or when the effective rank stays below this fraction of min(batch, D) (0: off).
    collapse_rank_threshold: float = 0.05
    stop_on_collapse: bool = False  # end training at the alarm instead of only warning


@dataclass
class SelfPacedConfig:
    """Self-paced learning: each training sample's loss is tracked (an EMA by dataset index)
    and the hardest ones are skipped or down-weighted, fewer as training goes on.

    ``keep`` is the fraction of the tracked samples, easiest first, that count fully: a number
    or a schedule over training progress (e.g. ``{schedule: linear, start: 0.5, end: 1.0}``).
    A sample above that quantile of the tracked losses is left out of the step (``skip``) or
    weighted by threshold / its loss (``down_weight``); samples not seen yet always count.
    Needs a method that reports per-sample losses.
    """

    enabled: bool = False
    keep: float | dict[str, Any] = 1.0
    mode: Literal["skip", "down_weight"] = "skip"
    momentum: float = 0.7  # of each sample's loss EMA: a sample is seen once per epoch


@dataclass
class RunConfig:
    """A whole pretraining run."""

    backbone: NamedConfig
    augment: NamedConfig
    method: NamedConfig
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    self_paced: SelfPacedConfig = field(default_factory=SelfPacedConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict in the YAML layout (``args`` flattened into their section)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            section = dataclasses.asdict(value)
            args = section.pop("args", {})
            section.update(args)
            out[f.name] = section
        return out


NAMED_SECTIONS = ("backbone", "augment", "method")
PLAIN_SECTIONS: dict[str, type] = {
    "optim": OptimConfig,
    "train": TrainConfig,
    "eval": EvalConfig,
    "self_paced": SelfPacedConfig,
}
