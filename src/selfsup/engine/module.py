"""Lightning glue: wraps a plain :class:`Method` with optimizer, schedule, seeding and logging."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import lightning as L
import torch
import torch.distributed as dist

from selfsup.config.schema import OptimConfig
from selfsup.engine.curriculum import Curriculum
from selfsup.engine.lr_resume import continue_lr_schedule
from selfsup.engine.optim import build_optimizer
from selfsup.engine.progress import ProgressClock, clock_now
from selfsup.engine.self_paced import STATE_KEY as SELF_PACED_KEY
from selfsup.engine.self_paced import SelfPaced, weighted_loss
from selfsup.eval.monitors import effective_rank, embedding_std
from selfsup.methods.base import Batch, Method
from selfsup.schedules import cosine_ramp, warmup_cosine_fraction, warmup_cosine_progress

CONFIG_KEY = "selfsup_config"
CLOCK_KEY = "selfsup_clock"


log = logging.getLogger("selfsup.engine")


def step_seed(seed: int, step: int, rank: int) -> int:
    """A 63-bit seed derived from (run seed, optimizer step, rank).

    Every step draws its randomness (views, dropout) from this seed, so a resumed run repeats
    the uninterrupted one exactly without saving RNG states.
    """
    digest = hashlib.sha256(f"{seed}:{step}:{rank}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def finite_on_every_rank(loss: torch.Tensor) -> bool:
    """Whether every rank's loss is finite: ranks must agree to skip a step together."""
    finite = torch.isfinite(loss.detach()).float()
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        # A plain MIN all-reduce: no autograd (Lightning's all_gather warns on every call).
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    return bool(finite.item())


class NonFiniteLossError(FloatingPointError):
    """The loss was NaN/inf on some rank and no more skips were allowed."""


class SSLModule(L.LightningModule):
    """Trains ``method`` with the configured optimizer and a per-step warmup + cosine LR
    (and, with ``optim.final_weight_decay``, a per-step cosine weight decay)."""

    def __init__(
        self,
        method: Method,
        optim: OptimConfig,
        lr: float,
        total_steps: int,
        warmup_steps: int,
        seed: int = 0,
        max_seconds: float | None = None,
        budget_clock: str = "wall",
        skip_nonfinite: int = 0,
    ) -> None:
        final_wd = optim.final_weight_decay
        if final_wd is not None and not (final_wd >= 0 and optim.weight_decay > 0):
            raise ValueError(
                f"a weight-decay schedule needs weight_decay > 0 and final_weight_decay >= 0, "
                f"got {optim.weight_decay} and {final_wd}"
            )
        super().__init__()
        self.method = method
        self.optim_cfg = optim
        self.lr = lr
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.seed = seed
        self.clock = ProgressClock(total_steps, max_seconds, budget_clock)
        # When the command was launched (a reading of ``clock.now()``): a time budget counts
        # the start-up too. None starts the clock at the first training step.
        self.launched_at: float | None = None
        self.train_started_at: float | None = None  # ``clock_now()`` at the first step
        # Held back from a time budget for what follows training in a command: run records,
        # the closing lines and the interpreter's exit (0 for a call from Python).
        self.exit_seconds = 0.0
        self.budget_stopped = False  # whether the time budget ended training
        self.dist_timeout_minutes = 30.0  # named when a collective times out
        # The length in steps of the run a resume continues (None: a new run or unknown).
        self.previous_total_steps: int | None = None
        self._last_step_end: float | None = None
        self._step_seconds: list[float] = []  # recent step-to-step times (``clock.now()``)
        # Progress at which warmup ends, the cosine spanning the rest. Step-based runs warm up
        # by steps; time-budgeted ones over the same fraction of the progress clock, so a short
        # budget still reaches the peak LR.
        self.warmup_end: float = warmup_steps / total_steps
        self.run_config: dict[str, Any] = {}
        # Scheduled method / view keys, set before every step from the progress clock.
        self.curriculum: Curriculum | None = None
        self._curriculum_values: dict[str, float] = {}
        self.self_paced: SelfPaced | None = None  # per-sample loss weighting, when enabled
        # Non-finite losses: how many steps may be skipped, and how many were (saved, so a
        # resumed run keeps counting).
        self.skip_nonfinite = skip_nonfinite
        self.nonfinite_skipped = 0
        # Indices of the optimizer groups that decay (not biases/norms), set with the optimizer.
        self.decay_groups: list[int] = []
        # Std of this step's L2-normalised embeddings (see ``embedding_std``) and their width D;
        # computed once per step here and read by the logger and the collapse monitor.
        self.latest_embedding_std: float | None = None
        self.embedding_dim: int | None = None
        # Effective rank (RankMe) of the same batch and its ceiling min(B, D): dimensional
        # collapse (spread inside a few directions) keeps the std up but drives the rank down.
        self.latest_embedding_rank: float | None = None
        self.latest_embedding_max_rank: int | None = None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CONFIG_KEY] = self.run_config
        checkpoint[CLOCK_KEY] = {
            **self.clock.state_dict(),
            "warmup_end": self.warmup_end,
            "nonfinite_skipped": self.nonfinite_skipped,
            "total_steps": self.total_steps,
        }
        if self.self_paced is not None:
            checkpoint[SELF_PACED_KEY] = self.self_paced.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get(CLOCK_KEY, {})
        self.clock.load_state_dict(state)
        self.nonfinite_skipped = int(state.get("nonfinite_skipped", 0))
        if "total_steps" in state:  # older checkpoints: the run's records tell (see run.py)
            self.previous_total_steps = int(state["total_steps"])
        if self.self_paced is not None and SELF_PACED_KEY in checkpoint:
            self.self_paced.load_state_dict(checkpoint[SELF_PACED_KEY])

    def on_train_start(self) -> None:
        self.train_started_at = clock_now()
        self.clock.start(self.launched_at if self.clock.clock == "wall" else None)
        self._last_step_end = self.clock.now()
        if self.exit_seconds:  # a command: leave it time to write records and exit
            self.clock.reserve("exit", self.exit_seconds)
        if self.trainer.ckpt_path is not None:  # a resume, perhaps with a longer run
            time_budgeted = self.clock.max_seconds is not None
            continue_lr_schedule(
                self.trainer, self.lr_factor, self.previous_total_steps, self.total_steps,
                time_budgeted,
            )  # fmt: skip

    def on_train_batch_start(self, batch: Batch, batch_idx: int) -> None:
        torch.manual_seed(step_seed(self.seed, self.global_step, self.global_rank))
        if self.curriculum:
            progress = self.clock.fraction(self.global_step)
            self._curriculum_values = self.curriculum.apply(self.method, progress)
        weight_decay = self.weight_decay_at(self.global_step)
        if weight_decay is not None:
            # Set from progress every step (never accumulated), so resumes repeat it exactly.
            groups = self.trainer.optimizers[0].param_groups
            for i in self.decay_groups:
                groups[i]["weight_decay"] = weight_decay

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor | None:
        if batch["label"].numel() == 0:  # every file of this batch was unreadable: skip the step
            return None
        device = batch["input"].device
        gen = torch.Generator(device=device)
        gen.manual_seed(step_seed(self.seed + 1, self.global_step, self.global_rank))
        out = self.method.training_step(batch, generator=gen)
        loss = out["loss"] if self.self_paced is None else self._self_paced_loss(batch, out)
        if not self._finite_everywhere(loss):
            self._skip_or_stop(loss)  # raises unless this step may be skipped
            return None
        if self.self_paced is not None:
            self.self_paced.update(batch["index"], out["sample_loss"])
        self.log("loss", loss, prog_bar=True, on_step=True, on_epoch=False)
        groups = self.trainer.optimizers[0].param_groups
        self.log("lr", groups[0]["lr"], on_step=True, on_epoch=False)
        if self.optim_cfg.final_weight_decay is not None and self.decay_groups:
            wd = groups[self.decay_groups[0]]["weight_decay"]
            self.log("weight_decay", wd, on_step=True, on_epoch=False)
        for name, scheduled in self._curriculum_values.items():
            self.log(f"curriculum/{name}", scheduled, on_step=True, on_epoch=False)
        for name, value in out.items():
            if name not in ("loss", "embedding") and value.ndim == 0:
                self.log(name, value, on_step=True, on_epoch=False)
        self._track_embedding(out.get("embedding"))
        return loss

    def _self_paced_loss(self, batch: Batch, out: dict[str, torch.Tensor]) -> torch.Tensor:
        """The weighted mean of the method's per-sample losses (hard samples skipped or
        down-weighted), with what was kept logged."""
        assert self.self_paced is not None
        progress = self.clock.fraction(self.global_step)
        weights = self.self_paced.weights(batch["index"], progress)
        kept = (weights > 0).float().mean() if self.self_paced.mode == "skip" else weights.mean()
        self.log("self_paced/kept", kept, on_step=True, on_epoch=False)
        self.log("self_paced/keep", self.self_paced.keep_at(progress), on_step=True, on_epoch=False)
        return weighted_loss(out["sample_loss"], weights)

    def _finite_everywhere(self, loss: torch.Tensor) -> bool:
        return finite_on_every_rank(loss)

    def _skip_or_stop(self, loss: torch.Tensor) -> None:
        """Skip this step (counted, up to ``skip_nonfinite``) or stop the run."""
        if self.nonfinite_skipped < self.skip_nonfinite:
            self.nonfinite_skipped += 1
            log.warning(
                "non-finite loss at step %d skipped (%d of at most %d)",
                self.global_step,
                self.nonfinite_skipped,
                self.skip_nonfinite,
            )
            return
        raise NonFiniteLossError(
            f"loss is {loss.item()} at step {self.global_step} "
            f"(after {self.nonfinite_skipped} skipped); lower optim.base_lr, train in "
            "train.precision=32-true, check the data, or skip such steps with "
            "train.skip_nonfinite=N"
        )

    def _track_embedding(self, embedding: torch.Tensor | None) -> None:
        """Store (and on log steps, log) the embedding std and effective rank of this step."""
        if embedding is None or embedding.ndim != 2 or embedding.shape[0] < 2:
            self.latest_embedding_std = self.latest_embedding_rank = None
            return
        embedding = embedding.float()
        self.latest_embedding_std = embedding_std(embedding)
        self.latest_embedding_rank = effective_rank(embedding)
        self.latest_embedding_max_rank = min(embedding.shape)
        self.embedding_dim = int(embedding.shape[1])
        every = max(1, int(getattr(self.trainer, "log_every_n_steps", 1)))
        if self.global_step % every == 0:
            self.log("embedding_std", self.latest_embedding_std, on_step=True, on_epoch=False)
            self.log("effective_rank", self.latest_embedding_rank, on_step=True, on_epoch=False)

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        """On log steps, log the gradient norm before clipping: unstable pretraining (wav2vec
        2.0's, notably) shows there before the loss turns NaN."""
        every = max(1, int(getattr(self.trainer, "log_every_n_steps", 1)))
        grads = [p.grad.detach() for p in self.method.parameters() if p.grad is not None]
        if self.global_step % every or not grads:
            return
        norms = torch.stack([torch.linalg.vector_norm(g.float()) for g in grads])
        self.log("grad_norm", torch.linalg.vector_norm(norms), on_step=True, on_epoch=False)

    def on_train_batch_end(self, outputs: Any, batch: Batch, batch_idx: int) -> None:
        step = self.global_step
        self.method.on_step_end(step, self.clock.projected_total(step))
        if self.clock.max_seconds is not None:
            self._reserve_next_step()
            if self._sync_budget():
                self.trainer.should_stop = self.budget_stopped = True

    def _reserve_next_step(self) -> None:
        """Keep room for one more step, as slow as the slowest recent one (epoch ends, data
        loading and saves included): the budget is checked between steps, not during them."""
        now = self.clock.now()
        if self._last_step_end is not None:
            self._step_seconds = [*self._step_seconds[-19:], now - self._last_step_end]
            self.clock.reserve("next step", max(self._step_seconds))
        self._last_step_end = now

    def _sync_budget(self) -> bool:
        """Whether the time budget is spent. With several ranks, rank 0's clock decides and its
        time fraction is broadcast, so every rank stops at the same step on the same LR."""
        spent = self.clock.out_of_time()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            shared = torch.tensor(
                [self.clock.own_time_fraction(), float(spent)],
                dtype=torch.float64,
                device=self.device,
            )
            dist.broadcast(shared, src=0)  # one small collective per step
            self.clock.share(shared[0].item())
            spent = bool(shared[1].item())
        return spent

    def lr_factor(self, step: int) -> float:
        """Multiplier of the peak LR at ``step``: warmup then cosine, by steps, or by the
        progress clock under a time budget."""
        progress = self.clock.fraction(step)
        warmup_end = self.warmup_end
        final = self.optim_cfg.final_lr_ratio
        if self.clock.max_seconds is None:
            return warmup_cosine_progress(step, self.warmup_steps, progress, warmup_end, final)
        floor = 1.0 / self.warmup_steps if self.warmup_steps else 1.0
        return warmup_cosine_fraction(progress, warmup_end, final, floor)

    def weight_decay_at(self, step: int) -> float | None:
        """Weight decay of the decaying groups at ``step`` (cosine by progress), or None when
        ``optim.final_weight_decay`` is unset (constant)."""
        final = self.optim_cfg.final_weight_decay
        if final is None:
            return None
        return cosine_ramp(self.clock.fraction(step), self.optim_cfg.weight_decay, final)

    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.method, self.optim_cfg, self.lr)
        # The bias/norm group is built with weight decay 0 and must keep it.
        self.decay_groups = [
            i for i, g in enumerate(optimizer.param_groups) if g["weight_decay"] > 0
        ]
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self.lr_factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
