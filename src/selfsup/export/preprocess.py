"""The deterministic preprocessing evaluation applies, as plain functions of raw inputs.

Images follow the method's evaluation view (``ImageViews.eval_view``): the largest centred
square, resized to the training size, scaled to [0, 1] and normalised by the run's mean/std.
Text follows the evaluation sets: ``[CLS] tokens [SEP]`` cut to the backbone's ``max_len``.
Audio is the waveform itself, clips NaN-padded into one batch (the backbone does the rest).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from selfsup.augment.geometry import crop_resize
from selfsup.augment.views import ImageViews
from selfsup.nn.audio_padding import pad_clips

RESIZE_RULE = "largest centred square, resized to size x size (antialiased)"
SCALE_RULE = "uint8 / 255 (floats are taken as already in [0, 1]), then (x - mean) / std"


def _short_float(value: float) -> float:
    """A float32 constant as the shortest decimal that reads back to it (0.4914, not 0.49140…)."""
    return float(str(np.float32(value)))


def image_eval_settings(augment: object) -> dict[str, Any]:
    """``size``, ``mean``, ``std`` (and the rules applying them) of ``augment``'s evaluation
    view; None for each when the method has no image views (inputs go in unchanged)."""
    if not isinstance(augment, ImageViews):
        return {"size": None, "mean": None, "std": None, "resize": None, "scale": SCALE_RULE}
    return {
        "size": int(augment.specs[0].size),
        "mean": [_short_float(v) for v in augment.mean.flatten().tolist()],
        "std": [_short_float(v) for v in augment.std.flatten().tolist()],
        "resize": RESIZE_RULE,
        "scale": SCALE_RULE,
    }


def _as_tensor(image: Any) -> torch.Tensor:
    """A tensor image, or a PIL image as uint8 ``[3, H, W]`` (grey, palette and RGBA -> RGB)."""
    if isinstance(image, torch.Tensor):
        return image
    if hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image
        array = np.asarray(image.convert("RGB"))
        return torch.from_numpy(array.copy()).permute(2, 0, 1)
    raise ValueError(f"images must be tensors or PIL images, got {type(image).__name__}")


def preprocess_images(
    images: Any,
    size: int | None,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    channels: int,
) -> torch.Tensor:
    """Float ``[B, channels, size, size]`` from uint8 or [0, 1] float images ``[B, C, H, W]``
    or ``[C, H, W]``, a PIL image, or a list of either (sizes may differ)."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("no images given")
        parts = [preprocess_images(i, size, mean, std, channels) for i in images]
        return torch.cat(parts)
    x = _as_tensor(images)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images [B, 1 or 3, H, W], got shape {list(x.shape)}")
    gain = 1.0 / 255.0 if x.dtype == torch.uint8 else 1.0
    x = x.float()
    b, _, h, w = x.shape
    if size is not None and not h == w == size:
        side = min(h, w)
        box = torch.tensor([(w - side) / 2, (h - side) / 2, side, side], device=x.device)
        x = crop_resize(x, box.expand(b, 4), size, None, True, gain=gain)
    elif gain != 1.0:
        x = x * gain
    if mean is not None and std is not None:
        if len(mean) == 1 and x.shape[1] == 3:
            raise ValueError("this encoder normalises 1-channel images but got 3 channels")
        m = torch.tensor(list(mean), dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        s = torch.tensor(list(std), dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        x = (x - m) / s  # a 1-channel image broadcasts to a 3-value mean's 3 channels
    if x.shape[1] != channels:
        if x.shape[1] != 1:
            raise ValueError(f"this encoder takes {channels}-channel images, got {x.shape[1]}")
        x = x.expand(-1, channels, -1, -1)
    return x


def tokenize(texts: str | Sequence[str], tokenizer: Any, max_len: int) -> torch.Tensor:
    """int64 ids ``[B, T]``: ``[CLS] tokens [SEP]`` cut to ``max_len``, padded with the pad id
    to the longest row (pooling ignores padding, so the length changes nothing else)."""
    batch = [texts] if isinstance(texts, str) else list(texts)
    if not batch or not all(isinstance(t, str) for t in batch):
        raise ValueError("text encoders take a string or a list of strings")
    if max_len < 3:
        raise ValueError(f"max_len must be >= 3 (cls, a token, sep), got {max_len}")
    encode_batch = getattr(tokenizer, "encode_batch", None)
    encoded = (
        encode_batch(batch) if callable(encode_batch) else [tokenizer.encode(t) for t in batch]
    )
    rows = [[tokenizer.cls_id, *ids[: max_len - 2], tokenizer.sep_id] for ids in encoded]
    out = torch.full((len(rows), max(len(r) for r in rows)), tokenizer.pad_id, dtype=torch.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
    return out


def waveform_batch(clips: Any) -> torch.Tensor:
    """float32 ``[B, T]`` from one waveform ``[T]``, a batch ``[B, T]`` (NaN padding kept), or
    a list of 1-D clips (tensors or arrays, padded at the end with NaN)."""
    if isinstance(clips, (list, tuple)):
        if not clips:
            raise ValueError("no clips given")
        return pad_clips([torch.as_tensor(c, dtype=torch.float32).flatten() for c in clips])
    x = torch.as_tensor(clips, dtype=torch.float32)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise ValueError(f"expected a waveform [T] or a batch [B, T], got shape {list(x.shape)}")
    return x
