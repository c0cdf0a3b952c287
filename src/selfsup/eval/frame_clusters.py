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
from collections.abc import Callable, Iterator, Sequence
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
    indices: Sequence[int] | None = None,
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    progress_every: float = 10.0,
) -> Iterator[tuple[int, torch.Tensor]]:
    """``(clip index, encode of the whole clip)`` for ``indices`` (default: every clip),
    float32 on the CPU, shortest clips first (batches carry little padding)."""
    chosen = range(len(clips)) if indices is None else indices
    order = sorted(chosen, key=lambda i: int(clips.lengths[i]))
    shown, done = time.monotonic(), 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        waves = pad_clips([clips.clip(i) for i in idx]).to(device)
        for i, f in zip(idx, encode(waves), strict=True):
            yield i, f.float().cpu()
        done += len(idx)
        if time.monotonic() - shown > progress_every:
            log.info("features of %s / %s clips", f"{done:,}", f"{len(order):,}")
            shown = time.monotonic()


@dataclasses.dataclass(frozen=True)
class ClusterSummary:
    """What :func:`cluster_and_write` did."""

    clips: int
    frames: int
    fit_frames: int
    num_clusters: int
    inertia: float
    used: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class KMeansOptions:
    """How :func:`cluster_and_write` fits: ``fit_clips`` (a seeded sample of clips to fit on,
    None = all; every clip is labelled either way), ``standardize`` (zero mean, unit variance
    per feature first: MFCC values differ in range by orders of magnitude, a layer's do not),
    and :class:`KMeans`' ``iterations``, ``seed``, ``backend``."""

    fit_clips: int | None = None
    standardize: bool = False
    iterations: int = 20
    seed: int = 0
    backend: str = "torch"


def cluster_and_write(
    clips: AudioClips,
    encode: FrameEncoder,
    out: str | Path,
    num_clusters: int,
    description: str,
    frame_rate: float,
    options: KMeansOptions = KMeansOptions(),
    batch_size: int = 16,
    device: torch.device | str = "cpu",
    started: float | None = None,
) -> ClusterSummary:
    """Fit k-means on the frames of (a sample of) ``clips``, then label every frame of every
    clip with its nearest centroid and write the labels to ``out``. Only the fitting sample's
    features are held in memory; the labelling pass streams."""
    started = time.monotonic() if started is None else started
    everything = options.fit_clips is None or options.fit_clips >= len(clips)
    fit_idx = None
    if not everything:
        gen = torch.Generator().manual_seed(options.seed)
        fit_idx = torch.randperm(len(clips), generator=gen)[: options.fit_clips].tolist()
    fit = dict(clip_features(clips, encode, fit_idx, batch_size, device))
    points = torch.cat(list(fit.values()))
    if len(points) < num_clusters:
        raise ConfigError(f"{len(points):,} frames are too few for --k {num_clusters}")
    mean, std = points.mean(0), points.std(0).clamp(min=1e-8)
    fit_frames = len(points)

    def scaled(x: torch.Tensor) -> torch.Tensor:
        return (x - mean) / std if options.standardize else x

    def report(iteration: int, inertia: float) -> None:
        per = inertia / fit_frames
        log.info("k-means pass %d: inertia %.4g (%.4g per frame)", iteration + 1, inertia, per)

    kmeans = KMeans(
        num_clusters,
        options.iterations,
        seed=options.seed,
        backend=options.backend,
        device=device,
        on_iteration=report,
    ).fit(scaled(points))
    del points
    labels: list[torch.Tensor] = [torch.empty(0)] * len(clips)
    stream = fit.items() if everything else clip_features(clips, encode, None, batch_size, device)
    inertia, frames = 0.0, 0
    for i, f in stream:
        x = scaled(f).to(device)
        labels[i] = kmeans.assign(x).cpu()
        inertia += kmeans.inertia(x)
        frames += len(f)
    write_frame_labels(out, clips.clip_keys(), labels, num_clusters, description, frame_rate)
    return ClusterSummary(
        clips=len(clips),
        frames=frames,
        fit_frames=fit_frames,
        num_clusters=num_clusters,
        inertia=inertia,
        used=int(torch.cat(labels).unique().numel()),
        seconds=time.monotonic() - started,
    )
