"""Self-paced learning (Kumar et al. 2010): easy samples first, the hard ones let in over time.

Each training sample's loss is tracked as an EMA keyed by its dataset index (the batch's
``index``: map-style datasets get it from the engine's wrapper, shards from their sample's
position). Before a step, samples whose tracked loss lies above the ``keep`` quantile of all
tracked losses are skipped (weight 0) or down-weighted (threshold / loss); the step's loss is
the weighted mean of the method's ``sample_loss``. Every sample's new loss still updates its
EMA, so a skipped sample that became easy is let back in. Under DDP every rank gathers all
ranks' (index, loss) pairs and applies the same update, so the tables stay identical.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import Dataset

from selfsup.config.curriculum import parse_schedule
from selfsup.config.schema import RunConfig, SelfPacedConfig
from selfsup.methods.base import Method
from selfsup.methods.registry import METHODS, list_methods
from selfsup.registry import ConfigError
from selfsup.schedules import ValueSchedule

STATE_KEY = "selfsup_self_paced"


class IndexedDataset(Dataset[Any]):
    """``dataset`` whose items also carry their ``index`` (None items stay None)."""

    def __init__(self, dataset: Dataset[Any]) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> Any:
        item = self.dataset[i]
        return None if item is None else {**item, "index": int(i)}

    def __getattr__(self, name: str) -> Any:  # set_epoch, labels, tokenizer: the dataset's
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)


class SelfPaced:
    """The per-sample loss table and the weights it gives a batch."""

    def __init__(self, cfg: SelfPacedConfig, size_hint: int = 0) -> None:
        self.mode = cfg.mode
        self.momentum = float(cfg.momentum)
        keep = cfg.keep
        self.keep = (
            parse_schedule("self_paced.keep", keep)
            if isinstance(keep, dict)
            else ValueSchedule("constant", value=float(keep))
        )
        self.table = torch.full((max(1, size_hint),), float("nan"))

    def keep_at(self, progress: float) -> float:
        """The fraction of tracked samples that count fully at ``progress``."""
        return self.keep.value_at(progress)

    def weights(self, index: torch.Tensor, progress: float) -> torch.Tensor:
        """Float weights ``[B]`` in [0, 1] for the samples ``index`` at ``progress``."""
        self._grow(int(index.max()) + 1 if index.numel() else 0)
        ema = self.table[index.cpu()]
        seen = self.table[~torch.isnan(self.table)]
        keep = self.keep_at(progress)
        w = torch.ones_like(ema)
        if keep < 1.0 and seen.numel():
            threshold = torch.quantile(seen, keep)
            hard = ema > threshold  # NaN (not seen yet) compares False: counted fully
            if self.mode == "skip":
                w[hard] = 0.0
            else:
                w[hard] = threshold / ema[hard]
        return w.to(index.device)

    def update(self, index: torch.Tensor, losses: torch.Tensor) -> None:
        """Fold this step's per-sample ``losses`` into the table (all ranks' under DDP)."""
        index, losses = _gathered(index.detach(), losses.detach().float())
        index, losses = index.cpu(), losses.cpu()
        self._grow(int(index.max()) + 1 if index.numel() else 0)
        old = self.table[index]
        m = self.momentum
        self.table[index] = torch.where(torch.isnan(old), losses, m * old + (1 - m) * losses)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"table": self.table.clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.table = state["table"].clone().float()

    def _grow(self, size: int) -> None:
        if size > len(self.table):
            more = torch.full((size - len(self.table),), float("nan"))
            self.table = torch.cat([self.table, more])


def check_self_paced(cfg: RunConfig, method: Method) -> None:
    """A ConfigError (one line) when self-paced learning is on but the method cannot weight
    its samples."""
    if cfg.self_paced.enabled and not type(method).reports_sample_loss:
        fits = [n for n in list_methods() if getattr(METHODS.get(n), "reports_sample_loss", False)]
        raise ConfigError(
            f"self_paced needs per-sample losses, which method '{cfg.method.name}' does not "
            f"report (methods that do: {', '.join(fits)})"
        )


def weighted_loss(sample_loss: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The weighted mean of ``sample_loss``; 0 (with gradients) when every weight is 0."""
    w = weights.to(sample_loss.dtype)
    return (sample_loss * w).sum() / w.sum().clamp_min(1e-12)


def _gathered(index: torch.Tensor, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every rank's (index, loss) pairs; batch sizes may differ, so rows are padded."""
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return index, losses
    n = torch.tensor([index.numel()], device=index.device)
    sizes = [torch.zeros_like(n) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, n)
    longest = int(max(s.item() for s in sizes))
    pairs = torch.full((2, longest), -1.0, dtype=torch.float64, device=index.device)
    pairs[0, : index.numel()] = index.double()
    pairs[1, : index.numel()] = losses.double()
    everyone = [torch.empty_like(pairs) for _ in sizes]
    dist.all_gather(everyone, pairs)
    joined = torch.cat(everyone, dim=1)
    real = joined[0] >= 0
    return joined[0, real].long(), joined[1, real].float()
