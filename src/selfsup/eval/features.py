"""Run a frozen encoder over a dataset once and keep the features (optionally cached on disk).

Every offline evaluation (kNN, linear probe, later few-shot and retrieval) starts from the
``Features`` this module returns, so the encoder runs once per checkpoint × data × transform.
The encoder is any function from a collated raw batch to ``[B, D]``; the caller composes the
preprocessing, e.g. ``lambda x: backbone(views.eval_view(x))``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, default_collate

from selfsup.files import temp_beside

Encode = Callable[[torch.Tensor], torch.Tensor]
"""A batch of raw inputs ``[B, ...]`` -> features ``[B, D]``."""

_CACHE_FORMAT = "selfsup.features/1"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclasses.dataclass
class Features:
    """Frozen features of a dataset: ``features`` float32 ``[N, D]``, ``labels`` int64 ``[N]``.

    A label of -1 marks an unlabelled item.
    """

    features: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.features.ndim != 2:
            raise ValueError(f"features must be [N, D], got shape {tuple(self.features.shape)}")
        if self.labels.ndim != 1 or len(self.labels) != len(self.features):
            raise ValueError(
                f"labels must be [N] with N={len(self.features)}, got {tuple(self.labels.shape)}"
            )
        self.features = self.features.float()
        self.labels = self.labels.long()

    def __len__(self) -> int:
        return len(self.features)

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return int(self.features.shape[1])


def feature_cache_key(*parts: str) -> str:
    """A filename-safe key (sha256 hex) naming a checkpoint × data × transform combination.

    Each part is length-prefixed so ("ab", "c") and ("a", "bc") give different keys.
    """
    digest = hashlib.sha256()
    for part in parts:
        raw = str(part).encode("utf-8")
        digest.update(f"{len(raw)}:".encode())
        digest.update(raw)
    return digest.hexdigest()


def extract_features(
    encode: Encode,
    dataset: Dataset[Any] | Iterable[Any],
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    cache_dir: Path | None = None,
    cache_key: str | None = None,
    progress: bool = False,
    num_workers: int = 0,
    modules: Sequence[nn.Module] = (),
    collate_fn: Callable[[list[Any]], Any] = default_collate,
) -> Features:
    """Encode every item of ``dataset`` (dicts with ``input`` and optional ``label``) once.

    ``collate_fn`` batches the items (a modality's ``collate``: audio clips are padded).

    Runs under ``torch.inference_mode`` with the encoder's modules in eval mode; their previous
    train/eval modes are restored afterwards. The modules are found automatically when
    ``encode`` is an ``nn.Module``, a bound method of one, or a closure over them; pass
    ``modules`` for anything else (e.g. a module-level lambda over a global backbone).

    With ``cache_dir`` and ``cache_key`` the result is stored as
    ``cache_dir/<cache_key>.safetensors`` and reused on the next call; build the key with
    ``feature_cache_key(checkpoint_hash, data_id, transform_id)``. A corrupt cache is rebuilt.

    A dataset exposing in-memory ``.images`` / ``.labels`` tensors is sliced directly (no
    per-item collation) when ``.images[0]`` equals ``dataset[0]["input"]``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if (cache_dir is None) != (cache_key is None):
        raise ValueError("cache_dir and cache_key must be given together")
    cache_path = None
    if cache_dir is not None and cache_key is not None:
        if not _SAFE_KEY.match(cache_key):
            raise ValueError(f"cache_key must be filename-safe [A-Za-z0-9._-], got {cache_key!r}")
        cache_path = Path(cache_dir) / f"{cache_key}.safetensors"
        cached = _load_cache(cache_path, cache_key)
        if cached is not None:
            return cached

    feats = _encode_all(
        encode,
        dataset,
        batch_size,
        torch.device(device),
        progress,
        num_workers,
        [*_find_modules(encode), *modules],
        collate_fn,
    )
    if cache_path is not None and cache_key is not None:
        _save_cache(cache_path, cache_key, feats)
    return feats


def _encode_all(
    encode: Encode,
    dataset: Dataset[Any] | Iterable[Any],
    batch_size: int,
    device: torch.device,
    progress: bool,
    num_workers: int,
    modules: list[nn.Module],
    collate_fn: Callable[[list[Any]], Any] = default_collate,
) -> Features:
    outs: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    batches: Iterable[dict[str, torch.Tensor]] = _batches(
        dataset, batch_size, num_workers, collate_fn
    )
    if progress:
        from rich.progress import track

        n = _length(dataset)
        batches = track(
            batches,
            total=math.ceil(n / batch_size) if n else None,
            description="extracting features",
        )
    with _eval_mode(modules), torch.inference_mode():
        for batch in batches:
            if not isinstance(batch, dict) or "input" not in batch:
                raise ValueError("dataset items must be dicts with an 'input' key")
            x = batch["input"]
            b = len(x)
            y = batch.get("label")
            y = torch.full((b,), -1, dtype=torch.long) if y is None else torch.as_tensor(y)
            z = encode(x.to(device, non_blocking=True))
            if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[0] != b:
                shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
                raise ValueError(f"encode must return [B, D] for a batch of {b}, got {shape}")
            outs.append(z.detach().float().cpu())
            labels.append(y.long().cpu().reshape(b))
    if not outs:
        raise ValueError("cannot extract features from an empty dataset")
    return Features(torch.cat(outs), torch.cat(labels))


def _batches(
    dataset: Dataset[Any] | Iterable[Any],
    batch_size: int,
    num_workers: int,
    collate_fn: Callable[[list[Any]], Any] = default_collate,
) -> Iterator[dict[str, torch.Tensor]]:
    """Slices of in-memory tensors when the dataset has them, else a plain DataLoader."""
    images = getattr(dataset, "images", None)
    labels = getattr(dataset, "labels", None)
    if _has_tensor_fast_path(dataset, images, labels):
        assert isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor)
        for i in range(0, len(images), batch_size):
            yield {"input": images[i : i + batch_size], "label": labels[i : i + batch_size]}
        return
    loader = DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=collate_fn,
    )
    yield from loader


def _has_tensor_fast_path(dataset: Any, images: Any, labels: Any) -> bool:
    if not (isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor)):
        return False
    if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__getitem__"):
        return False
    if len(images) == 0 or labels.shape != (len(images),) or _length(dataset) != len(images):
        return False
    # Guard against datasets whose __getitem__ transforms what .images holds.
    first = dataset[0]
    return isinstance(first, dict) and torch.equal(torch.as_tensor(first["input"]), images[0])


def _length(dataset: Any) -> int | None:
    try:
        return len(dataset)
    except TypeError:
        return None


def _find_modules(encode: Encode) -> list[nn.Module]:
    """The nn.Modules behind ``encode``: itself, its bound ``self``, or its closure cells."""
    if isinstance(encode, nn.Module):
        return [encode]
    owner = getattr(encode, "__self__", None)
    if isinstance(owner, nn.Module):
        return [owner]
    cells = getattr(encode, "__closure__", None) or ()
    found = []
    for cell in cells:
        with contextlib.suppress(ValueError):  # empty cell
            if isinstance(cell.cell_contents, nn.Module):
                found.append(cell.cell_contents)
    return found


@contextlib.contextmanager
def _eval_mode(modules: list[nn.Module]) -> Iterator[None]:
    """Put every submodule in eval mode and restore each one's own mode afterwards."""
    saved = [(m, m.training) for root in modules for m in root.modules()]
    try:
        for root in modules:
            root.eval()
        yield
    finally:
        for m, training in saved:
            m.training = training


def _load_cache(path: Path, key: str) -> Features | None:
    if not path.exists():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != _CACHE_FORMAT or meta.get("key") != key:
                raise ValueError("metadata does not match")
            return Features(f.get_tensor("features"), f.get_tensor("labels"))
    except Exception as err:  # any unreadable cache is rebuilt, never trusted
        warnings.warn(f"ignoring unreadable feature cache {path} ({err}); rebuilding", stacklevel=3)
        return None


def _save_cache(path: Path, key: str, feats: Features) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(path)
    os.close(fd)
    try:
        save_file(
            {"features": feats.features.contiguous(), "labels": feats.labels.contiguous()},
            tmp,
            metadata={"format": _CACHE_FORMAT, "key": key},
        )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
