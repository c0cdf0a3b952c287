"""``pretrain(config)``: the whole pretraining job, from config to checkpoints and logs."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import IterableDataset

from selfsup.config.curriculum import scheduled_keys
from selfsup.config.load import load_config, save_config
from selfsup.config.schema import RunConfig
from selfsup.engine.build import build_method, build_split
from selfsup.engine.callbacks import EpochData, OnlineKNN, Throughput
from selfsup.engine.checkpoint import (
    AtomicCheckpointIO,
    PeriodicCheckpoint,
    checkpoint_dir,
    checkpoint_step,
    latest_checkpoint,
)
from selfsup.engine.collapse import CollapseMonitor
from selfsup.engine.curriculum import Curriculum
from selfsup.engine.datamodule import SSLDataModule
from selfsup.engine.loggers import build_loggers, check_loggers
from selfsup.engine.module import NonFiniteLossError, SSLModule
from selfsup.engine.optim import scaled_lr
from selfsup.engine.precision import resolve_precision
from selfsup.engine.progress import clock_now
from selfsup.engine.quiet import ensure_selfsup_lines, quiet_lightning
from selfsup.engine.resume_point import remove_stale_temp_files, resume_checkpoint
from selfsup.engine.resume_policy import (
    check_resume_overrides,
    recorded_total_steps,
    warn_world_change,
)
from selfsup.engine.run_length import closing, finished, length, total_steps_of, warmup_steps
from selfsup.engine.run_progress import RunProgress
from selfsup.engine.runinfo import update_run_json, write_run_json
from selfsup.engine.self_paced import IndexedDataset, SelfPaced, check_self_paced
from selfsup.engine.stem_init import init_stem
from selfsup.engine.strategy import build_strategy, timeout_error
from selfsup.engine.subset import labeled_subset
from selfsup.engine.validation import build_validation
from selfsup.modalities import modality_of
from selfsup.modalities.pairs import collate_for
from selfsup.registry import ConfigError, RunError

log = logging.getLogger("selfsup.engine")

# What a command does after training (run records, closing lines, the interpreter's exit),
# held back from its time budget.
EXIT_SECONDS = 1.5

# SSLDataModule restores the sampler position itself, so a mid-epoch resume is exact.
_MID_EPOCH_RESUME = "You're resuming from a checkpoint that ended before"


@dataclass
class PretrainResult:
    """Where a run wrote its outputs and what its monitors measured."""

    run_dir: Path
    method: Any
    last_checkpoint: Path | None
    global_step: int
    knn_history: list[tuple[int, float]] = field(default_factory=list)
    is_global_zero: bool = True


def new_run_dir(cfg: RunConfig) -> Path:
    """``output_dir/run_name``, or a timestamped name from method and backbone."""
    name = cfg.train.run_name or (
        f"{cfg.method.name}-{cfg.backbone.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    )
    return Path(cfg.train.output_dir) / name


def pretrain(
    cfg: RunConfig,
    run_dir: Path | None = None,
    resume: bool = False,
    extra_callbacks: list[L.Callback] | None = None,
    started_at: float | None = None,
) -> PretrainResult:
    """Pretrain the configured method; ``resume`` continues ``run_dir`` from its last checkpoint.

    ``started_at`` (a ``time.monotonic()`` reading, e.g. when the command started) is when a
    ``train.max_minutes`` budget began; by default, this call. Prints selfsup's own lines (as
    the command does) unless the application configured logging, and none of Lightning's."""
    exit_seconds = 0.0 if started_at is None else EXIT_SECONDS  # given by a command
    started_at = clock_now() if started_at is None else started_at
    ensure_selfsup_lines()
    with quiet_lightning():
        return _pretrain(cfg, run_dir, resume, extra_callbacks, started_at, exit_seconds)


def _pretrain(
    cfg: RunConfig,
    run_dir: Path | None,
    resume: bool,
    extra_callbacks: list[L.Callback] | None,
    started_at: float,
    exit_seconds: float,
) -> PretrainResult:
    L.seed_everything(cfg.train.seed, verbose=False)
    method = build_method(cfg)  # all config errors surface here, before any data is read
    curriculum = Curriculum(cfg, scheduled_keys(cfg), method)
    check_self_paced(cfg, method)
    check_loggers(cfg.train.loggers)
    run_dir = Path(run_dir) if run_dir is not None else new_run_dir(cfg)
    ckpt_path = _starting_checkpoint(run_dir, resume)
    check_writable(run_dir)  # before any data is read: a read-only disk fails in one line
    train_set = build_split(cfg, cfg.data.train_split)
    method.check_train_data(train_set)  # e.g. HuBERT's frame labels against its encoder
    if cfg.self_paced.enabled and not isinstance(train_set, IterableDataset):
        train_set = IndexedDataset(train_set)  # shards carry their samples' index themselves
    if ckpt_path is None:  # a resume restores the trained stem
        init_stem(method, cfg, train_set)
    run_dir.mkdir(parents=True, exist_ok=True)
    if ckpt_path is None:  # a resume rewrites its records only once training restarted
        save_config(cfg, run_dir / "config.yaml")
    precision = resolve_precision(cfg.train.precision, cfg.train.accelerator)
    datamodule = SSLDataModule(
        train_set,
        cfg.data.batch_size,
        cfg.data.num_workers,
        cfg.train.seed,
        collate_fn=collate_for(train_set, method.encoder()),  # pairs: each side its own
        epochs=cfg.train.max_epochs
        if cfg.train.max_steps < 1 and cfg.train.max_epochs > 0
        else None,
    )
    collapse = CollapseMonitor(
        cfg.eval.collapse_threshold,
        cfg.eval.collapse_patience,
        cfg.eval.stop_on_collapse,
        cfg.eval.collapse_rank_threshold,
    )
    knn = _online_knn(cfg, train_set)
    validation = build_validation(cfg, method)
    saver = PeriodicCheckpoint(
        checkpoint_dir(run_dir), cfg.train.checkpoint_every_n_steps, cfg.train.keep_last
    )
    modality = modality_of(method.encoder())
    unit, amount = modality.unit, modality.batch_amount(method.encoder())
    callbacks: list[L.Callback] = [
        saver,
        Throughput(cfg.data.batch_size, amount=amount),
        EpochData(train_set),
        collapse,
        *([knn] if knn is not None else []),
        *([validation] if validation is not None else []),
        *([RunProgress(unit, amount=amount)] if cfg.train.progress else []),
        *(extra_callbacks or []),
    ]
    trainer = _trainer(cfg, precision, callbacks, run_dir)
    world = trainer.world_size
    global_batch = cfg.data.batch_size * world
    steps_per_epoch = datamodule.batches_per_epoch(world)
    total_steps = total_steps_of(cfg, steps_per_epoch, length(train_set), world)
    if ckpt_path is not None and finished(ckpt_path, total_steps, cfg):
        return PretrainResult(run_dir, method, ckpt_path, checkpoint_step(ckpt_path))
    warmup = warmup_steps(cfg, steps_per_epoch, total_steps)
    lr = scaled_lr(cfg.optim.base_lr, global_batch)
    if cfg.train.channels_last and method.backbone.channels_last:
        method = method.to(memory_format=torch.channels_last)
    if cfg.train.compile:
        method.backbone.compile()
    module = SSLModule(
        method,
        cfg.optim,
        lr=lr,
        total_steps=total_steps,
        warmup_steps=warmup,
        seed=cfg.train.seed,
        max_seconds=cfg.train.max_minutes * 60 if cfg.train.max_minutes else None,
        budget_clock=cfg.train.budget_clock,
        skip_nonfinite=cfg.train.skip_nonfinite,
    )
    module.run_config = cfg.to_dict()
    module.curriculum = curriculum
    if cfg.self_paced.enabled:
        size = 0 if isinstance(train_set, IterableDataset) else len(train_set)
        module.self_paced = SelfPaced(cfg.self_paced, size)
    module.launched_at, module.exit_seconds = started_at, exit_seconds
    module.dist_timeout_minutes = cfg.train.dist_timeout_minutes
    records = {
        "precision": precision,
        "world_size": world,
        "global_batch": global_batch,
        "lr": lr,
        "total_steps": total_steps,
        "warmup_steps": warmup,
        "train_samples": length(train_set) or None,
        "resumed_from": str(ckpt_path) if ckpt_path else None,
    }
    if ckpt_path is not None:
        module.previous_total_steps = recorded_total_steps(run_dir)  # before records change
        if trainer.is_global_zero:
            warn_world_change(run_dir, world, global_batch)
    write = RunRecords(cfg, run_dir, records)
    if ckpt_path is None:
        write.now(trainer)
    else:
        trainer.callbacks.append(write)  # type: ignore[attr-defined]
    _fit(trainer, module, datamodule, ckpt_path, run_dir)
    if trainer.is_global_zero:
        evals = {
            "online kNN": knn.seconds if knn is not None else 0.0,
            "validation loss": validation.seconds if validation is not None else 0.0,
        }
        log.info("%s", closing(cfg, trainer, module, started_at, evals, saver.seconds))
        update_run_json(
            run_dir,
            {"global_step": trainer.global_step, "collapse_events": collapse.detector.events},
        )
    return PretrainResult(
        run_dir=run_dir,
        method=method,
        last_checkpoint=latest_checkpoint(run_dir),
        global_step=trainer.global_step,
        knn_history=knn.history if knn is not None else [],
        is_global_zero=trainer.is_global_zero,
    )


class RunRecords(L.Callback):
    """Writes ``config.yaml`` and ``run.json``: at once for a new run, and for a resume only
    when training has restarted, so a resume that fails leaves the records as they were."""

    def __init__(self, cfg: RunConfig, run_dir: Path, records: dict[str, Any]) -> None:
        self.cfg, self.run_dir, self.records = cfg, run_dir, records

    def now(self, trainer: L.Trainer) -> None:
        save_config(self.cfg, self.run_dir / "config.yaml")
        if trainer.is_global_zero:
            write_run_json(self.run_dir, self.cfg.to_dict(), self.records)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.now(trainer)


def _starting_checkpoint(run_dir: Path, resume: bool) -> Path | None:
    """The checkpoint a resume continues from (None for a new run, which must not overwrite)."""
    if resume:
        ckpt_path = resume_checkpoint(run_dir)  # newest good one; untrusted files refused
        remove_stale_temp_files(run_dir)
        return ckpt_path
    if latest_checkpoint(run_dir) is not None:
        raise ConfigError(
            f"{run_dir} already holds a run; continue it with 'selfsup resume {run_dir}' "
            "or choose another train.run_name"
        )
    return None


def _trainer(
    cfg: RunConfig, precision: str, callbacks: list[L.Callback], run_dir: Path
) -> L.Trainer:
    return L.Trainer(
        **_trainer_kwargs(cfg, precision),
        max_epochs=cfg.train.max_epochs if cfg.train.max_steps < 1 else -1,
        max_steps=cfg.train.max_steps,
        callbacks=callbacks,
        logger=build_loggers(cfg.train.loggers, run_dir, run_dir.name, cfg.to_dict()),
        plugins=[AtomicCheckpointIO()],
        default_root_dir=run_dir,
        log_every_n_steps=cfg.train.log_every_n_steps,
        gradient_clip_val=cfg.optim.grad_clip,
        enable_progress_bar=False,  # RunProgress shows the whole run instead
        enable_model_summary=False,
        enable_checkpointing=False,  # PeriodicCheckpoint writes them; no second default set
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
    )


def _fit(
    trainer: L.Trainer, module: SSLModule, datamodule: Any, ckpt_path: Path | None, run_dir: Path
) -> None:
    """``trainer.fit``; a non-finite loss becomes one line naming the last good checkpoint."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_MID_EPOCH_RESUME)
        try:
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
        except NonFiniteLossError as e:
            last = latest_checkpoint(run_dir)
            where = f"last good checkpoint: {last}" if last else "no checkpoint was written yet"
            raise RunError(f"{e}; {where}") from None
        except RuntimeError as e:  # torch.distributed's DistBackendError is one
            hung = timeout_error(e, module.dist_timeout_minutes, trainer.global_rank)
            if hung is None:
                raise
            raise hung from None


def check_writable(run_dir: Path) -> None:
    """ConfigError unless ``run_dir`` (or the nearest folder that exists above it) is writable."""
    folder = run_dir
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"run directory {run_dir} cannot be written ({folder} is read-only or not ours); "
            "choose another train.output_dir or --run-dir"
        )


def resume_run(
    run_dir: str | Path,
    overrides: list[str] | None = None,
    extra_callbacks: list[L.Callback] | None = None,
    started_at: float | None = None,
) -> PretrainResult:
    """Continue a run from its directory (its saved config, plus optional overrides)."""
    run_dir = Path(run_dir)
    cfg = load_config(run_dir / "config.yaml", overrides)
    check_resume_overrides(load_config(run_dir / "config.yaml"), cfg)
    return pretrain(
        cfg, run_dir=run_dir, resume=True, extra_callbacks=extra_callbacks, started_at=started_at
    )


def _trainer_kwargs(cfg: RunConfig, precision: str) -> dict[str, Any]:
    t = cfg.train
    return dict(
        accelerator=t.accelerator,
        devices=t.devices,
        strategy=build_strategy(t),
        num_nodes=t.num_nodes,
        precision=precision,
        sync_batchnorm=t.sync_batchnorm,
    )


def _online_knn(cfg: RunConfig, train_set: Any) -> OnlineKNN | None:
    if cfg.eval.knn_every_n_epochs < 1:
        return None
    bank = labeled_subset(train_set, cfg.eval.knn_bank_size, cfg.train.seed)
    if bank is None:
        log.info("online kNN off: the training data has no labels")
        return None
    try:
        queries_full = build_split(cfg, cfg.data.val_split)
    except (ValueError, FileNotFoundError) as e:
        log.info("online kNN off: no '%s' split (%s)", cfg.data.val_split, e)
        return None
    queries = labeled_subset(queries_full, cfg.eval.knn_query_size, cfg.train.seed)
    if queries is None:
        return None
    return OnlineKNN(
        bank,
        queries,
        cfg.eval.knn_every_n_epochs,
        cfg.eval.knn_k,
        cfg.eval.knn_temperature,
        cfg.eval.batch_size,
    )
