"""Per-frame cluster labels of a set of clips (HuBERT's targets), in one safetensors file.

``selfsup cluster`` writes the file and a HuBERT run reads it, so users can iterate (MFCC
k-means, then k-means of a trained layer). Tensors: ``labels`` (every clip's labels, one after
another; int16 when K fits) and ``offsets`` (int64 ``[clips + 1]``, clip ``i`` owns
``labels[offsets[i]:offsets[i + 1]]``). The header's metadata holds one JSON object: the
format, K, what the features were, the label frame rate, the selfsup version and the clip
keys (paths or indices as strings, in order). The file is written atomically and validated
when read: a file users hand us is data, never trusted.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from selfsup.files import temp_beside
from selfsup.registry import ConfigError

FORMAT = "selfsup-frame-labels/1"
_META_KEY = "selfsup_frame_labels"


def _selfsup_version() -> str:
    # From the installed metadata: data may not import the package root (layering).
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("selfsup")
    except PackageNotFoundError:
        return "unknown (not installed)"


class FrameLabelsError(ConfigError):
    """A frame-label file that is unreadable, inconsistent or does not fit the clips."""


@dataclasses.dataclass(frozen=True)
class FrameLabels:
    """Cluster labels per frame of each clip, as read by :func:`read_frame_labels`.

    Attributes:
        clips: clip keys in file order.
        labels: int64 ``[total frames]``, every clip's labels one after another.
        offsets: int64 ``[len(clips) + 1]``.
        num_clusters: K; every label is in ``[0, K)``.
        features: what was clustered (e.g. ``"mfcc39"`` or ``"runs/hubert1 layer 6"``).
        frame_rate: label frames per second of audio.
        selfsup_version: the version that wrote the file.
        path: where it was read from (for messages).
    """

    clips: tuple[str, ...]
    labels: torch.Tensor
    offsets: torch.Tensor
    num_clusters: int
    features: str
    frame_rate: float
    selfsup_version: str
    path: str = ""

    def __len__(self) -> int:
        return len(self.clips)

    def index(self, clip: str) -> int:
        """Position of ``clip`` in the file."""
        try:
            return self._positions()[clip]
        except KeyError:
            raise FrameLabelsError(f"{self.path}: no labels for clip '{clip}'") from None

    def _positions(self) -> dict[str, int]:
        cached = self.__dict__.get("_positions_cache")
        if cached is None:
            cached = {key: i for i, key in enumerate(self.clips)}
            object.__setattr__(self, "_positions_cache", cached)
        return cached

    def for_clip(
        self, clip: str | int, frames: int | None = None, tolerance: int = 0
    ) -> torch.Tensor:
        """int64 labels of ``clip`` (key or position). With ``frames`` (the encoder's frame
        count), a count off by at most ``tolerance`` is cut or padded with the last label; a
        larger mismatch raises (targets made at another frame rate, or from other audio)."""
        i = clip if isinstance(clip, int) else self.index(clip)
        if not 0 <= i < len(self.clips):
            raise FrameLabelsError(f"{self.path}: clip {i} out of range ({len(self.clips)} clips)")
        out = self.labels[int(self.offsets[i]) : int(self.offsets[i + 1])]
        if frames is None or len(out) == frames:
            return out
        if abs(len(out) - frames) > tolerance or len(out) == 0:
            raise FrameLabelsError(
                f"{self.path}: clip '{self.clips[i]}' has {len(out)} frame labels but the "
                f"encoder gives {frames} frames (labels at {self.frame_rate:g} frames/s; were "
                "they made for another frame rate or other audio?)"
            )
        pad = out[-1:].expand(max(frames - len(out), 0))
        return torch.cat([out[:frames], pad])


def write_frame_labels(
    path: str | Path,
    clips: Sequence[str],
    labels: Sequence[torch.Tensor],
    num_clusters: int,
    features: str,
    frame_rate: float,
) -> None:
    """Write one label tensor ``[frames]`` per clip key to ``path`` (atomically)."""
    path = Path(path)
    if len(clips) != len(labels):
        raise ValueError(f"{len(clips)} clip keys for {len(labels)} label tensors")
    if len(set(clips)) != len(clips):
        raise ValueError("clip keys must be unique")
    if num_clusters < 1 or not frame_rate > 0:
        raise ValueError(f"need num_clusters >= 1 and frame_rate > 0: {num_clusters}, {frame_rate}")
    flat = torch.cat([t.reshape(-1).long() for t in labels]) if labels else torch.zeros(0)
    flat = flat.long()
    if len(flat) and (int(flat.min()) < 0 or int(flat.max()) >= num_clusters):
        raise ValueError(f"labels must lie in [0, {num_clusters})")
    sizes = torch.tensor([0] + [t.numel() for t in labels], dtype=torch.long)
    dtype = torch.int16 if num_clusters <= torch.iinfo(torch.int16).max else torch.int32
    header = {
        "format": FORMAT,
        "num_clusters": int(num_clusters),
        "features": str(features),
        "frame_rate": float(frame_rate),
        "selfsup_version": _selfsup_version(),
        "clips": [str(c) for c in clips],
    }
    tensors = {"labels": flat.to(dtype).contiguous(), "offsets": sizes.cumsum(0)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(path)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_META_KEY: json.dumps(header)})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_frame_labels(path: str | Path) -> FrameLabels:
    """Read and validate a file of :func:`write_frame_labels`; one-line error if it is bad."""
    name = str(path)
    try:
        with safe_open(name, framework="pt") as f:
            meta = f.metadata() or {}
            if set(f.keys()) != {"labels", "offsets"}:
                raise ValueError(f"tensors {sorted(f.keys())}, expected labels and offsets")
            labels, offsets = f.get_tensor("labels"), f.get_tensor("offsets")
        header = json.loads(meta.get(_META_KEY, "null"))
    except FileNotFoundError:
        raise FrameLabelsError(f"{name}: no such frame-label file") from None
    except Exception as err:  # not safetensors, broken header or JSON: one line, no traceback
        raise FrameLabelsError(f"{name}: not a selfsup frame-label file ({err})") from None
    return _validated(name, header, labels, offsets)


def _validated(name: str, header: Any, labels: torch.Tensor, offsets: torch.Tensor) -> FrameLabels:
    def bad(why: str) -> FrameLabelsError:
        return FrameLabelsError(f"{name}: not a valid selfsup frame-label file ({why})")

    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise bad(f"format is not {FORMAT}")
    k, rate, clips = header.get("num_clusters"), header.get("frame_rate"), header.get("clips")
    if not isinstance(k, int) or k < 1 or not isinstance(rate, (int, float)) or not rate > 0:
        raise bad("num_clusters or frame_rate missing or out of range")
    if not isinstance(clips, list) or not all(isinstance(c, str) for c in clips):
        raise bad("clips is not a list of keys")
    if len(set(clips)) != len(clips):
        raise bad("clip keys repeat")
    if labels.dim() != 1 or labels.dtype not in (torch.int16, torch.int32, torch.int64):
        raise bad("labels is not a 1-D integer tensor")
    if offsets.dtype != torch.int64 or offsets.shape != (len(clips) + 1,):
        raise bad(f"offsets is not int64 [{len(clips) + 1}]")
    if int(offsets[0]) != 0 or int(offsets[-1]) != len(labels) or bool((offsets.diff() < 0).any()):
        raise bad("offsets do not split the labels")
    labels = labels.long()
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= k):
        raise bad(f"labels outside [0, {k})")
    return FrameLabels(
        clips=tuple(clips),
        labels=labels,
        offsets=offsets,
        num_clusters=k,
        features=str(header.get("features", "")),
        frame_rate=float(rate),
        selfsup_version=str(header.get("selfsup_version", "")),
        path=name,
    )
