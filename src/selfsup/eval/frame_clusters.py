"""Per-frame features of whole clips and their k-means labels: HuBERT's targets.

Features come one row per encoder frame (so labels line up with the encoder's tokens): MFCC
(+ deltas) placed at the encoder's frames (iteration 1), or one transformer block's output
of a trained encoder (iteration 2). k-means runs batched on the device
(:class:`selfsup.nn.kmeans.KMeans`, faiss when asked), then every frame gets its nearest
centroid and :func:`write_frame_labels` stores them under the clips' keys.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from selfsup.data.audio import AudioClips
from selfsup.data.frame_labels import write_frame_labels
from selfsup.nn.audio_padding import pad_clips
from selfsup.nn.frame_features import EncoderFrameMFCC
from selfsup.nn.kmeans import KMeans
from selfsup.registry import ConfigError

log = logging.getLogger("selfsup.cluster")

FrameEncoder = Callable[[torch.Tensor], list[torch.Tensor]]
"""NaN-padded waveforms ``[B, T]`` -> one ``[frames_b, D]`` feature tensor per clip."""


def frame_geometry(encoder: Any) -> tuple[int, int]:
    """``(hop, receptive field)`` in samples of a frame encoder (one-line error otherwise)."""
    hop, field = getattr(encoder, "hop_length", None), getattr(encoder, "min_samples", None)
    if not isinstance(hop, int) or not isinstance(field, int):
        raise ConfigError(
            f"{type(encoder).__name__} has no frames at a fixed hop: cluster needs a frame "
            "encoder such as wav2vec2_*"
        )
    return hop, field


def mfcc_frames(encoder: Any, device: torch.device | str = "cpu") -> FrameEncoder:
    """MFCC + deltas (39 values) at ``encoder``'s frames."""
    hop, field = frame_geometry(encoder)
    mfcc = EncoderFrameMFCC(encoder.sample_rate, hop, field).to(device)

    def encode(x: torch.Tensor) -> list[torch.Tensor]:
        return mfcc(x, encoder.valid_tokens(x).sum(1))

    return encode


def layer_frames(encoder: Any, layer: int) -> FrameEncoder:
    """The output of transformer block ``layer`` (1 = the first) at each real frame."""
    depth = getattr(encoder, "depth", None)
    if not isinstance(depth, int) or not 1 <= layer <= depth:
        raise ConfigError(f"--layer must be in 1..{depth} for this encoder, got {layer}")
    frame_geometry(encoder)

    def encode(x: torch.Tensor) -> list[torch.Tensor]:
        hidden = encoder.forward_block_outputs(x)[layer - 1]  # [B, N, D]
        valid = encoder.valid_tokens(x)
        return [hidden[b, valid[b]] for b in range(len(x))]

    return encode


@torch.no_grad()
def clip_features(
    clips: AudioClips,
    encode: FrameEncoder,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    progress_every: float = 10.0,
) -> list[torch.Tensor]:
    """``encode`` of every clip of ``clips`` (whole), float32 on the CPU, in order."""
    order = sorted(range(len(clips)), key=lambda i: int(clips.lengths[i]))  # little padding
    shown = time.monotonic()
    feats: dict[int, torch.Tensor] = {}
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        waves = pad_clips([clips.clip(i) for i in idx]).to(device)
        for i, f in zip(idx, encode(waves), strict=True):
            feats[i] = f.float().cpu()
        if time.monotonic() - shown > progress_every:
            log.info("features of %s / %s clips", f"{len(feats):,}", f"{len(clips):,}")
            shown = time.monotonic()
    return [feats[i] for i in range(len(clips))]


@dataclasses.dataclass(frozen=True)
class ClusterSummary:
    """What :func:`cluster_and_write` did."""

    clips: int
    frames: int
    num_clusters: int
    inertia: float
    used: int
    seconds: float


def cluster_and_write(
    clips: AudioClips,
    features: list[torch.Tensor],
    out: str | Path,
    num_clusters: int,
    description: str,
    frame_rate: float,
    standardize: bool = False,
    iterations: int = 20,
    seed: int = 0,
    backend: str = "torch",
    device: torch.device | str = "cpu",
    started: float | None = None,
) -> ClusterSummary:
    """k-means of every frame of ``features``, labels of each clip written to ``out``.

    ``standardize`` scales each feature to zero mean and unit variance first (MFCC values
    differ in range by orders of magnitude; a trained layer's do not).
    """
    started = time.monotonic() if started is None else started
    points = torch.cat(features)
    if len(points) < num_clusters:
        raise ConfigError(f"{len(points):,} frames are too few for --k {num_clusters}")
    if standardize:
        points = (points - points.mean(0)) / points.std(0).clamp(min=1e-8)

    def report(iteration: int, inertia: float) -> None:
        log.info(
            "k-means pass %d: inertia %.4g (%.4g per frame)",
            iteration + 1,
            inertia,
            inertia / len(points),
        )

    kmeans = KMeans(
        num_clusters, iterations, seed=seed, backend=backend, device=device, on_iteration=report
    ).fit(points)
    flat = kmeans.assign(points.to(device)).cpu()
    labels = list(flat.split([len(f) for f in features]))
    write_frame_labels(out, clips.clip_keys(), labels, num_clusters, description, frame_rate)
    return ClusterSummary(
        clips=len(clips),
        frames=len(points),
        num_clusters=num_clusters,
        inertia=kmeans.inertia(points),
        used=int(flat.unique().numel()),
        seconds=time.monotonic() - started,
    )
