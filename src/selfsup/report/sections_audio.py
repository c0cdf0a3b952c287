"""Audio figures for the report: what a few clips look like (waveform over a log-mel
spectrogram), and the audio form of the neighbour grid (each query clip's spectrogram beside
those of its nearest training clips). Spectrograms are drawn with low frequencies at the bottom,
time in seconds; clips are shown whole, never padded."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to memory
import matplotlib.pyplot as plt
import numpy as np
import torch

from selfsup.eval.tsne import class_name
from selfsup.nn.audio_features import LogMel
from selfsup.report.plots import to_png

N_MELS = 64
SAME, OTHER, QUERY = "#059669", "#dc2626", "#111827"


def is_audio_item(x: object) -> bool:
    """Whether a dataset item's ``input`` is a mono waveform (float ``[T]``)."""
    return isinstance(x, torch.Tensor) and x.ndim == 1 and x.is_floating_point()


def log_mel_db(clip: torch.Tensor, sample_rate: int) -> np.ndarray:
    """``[n_mels, frames]`` log-mel power (dB) of one whole clip (NaN padding dropped)."""
    wave = clip[~torch.isnan(clip)].float()[None]
    if wave.shape[1] == 0:
        raise ValueError("an empty clip has no spectrogram")
    mels = N_MELS if sample_rate >= 8000 else 32
    db, frames = LogMel(sample_rate, n_mels=mels)(wave)
    return db[0, :, : int(frames[0])].numpy()


def _spectrogram(ax: plt.Axes, clip: torch.Tensor, sample_rate: int) -> None:
    db = log_mel_db(clip, sample_rate)
    seconds = int((~torch.isnan(clip)).sum()) / sample_rate
    ax.imshow(db, origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, db.shape[0]))


def clips_figure(
    clips: Sequence[torch.Tensor],
    labels: Sequence[int],
    sample_rate: int,
    class_names: Sequence[str] | None = None,
) -> bytes:
    """One row per clip: its waveform above its log-mel spectrogram, titled by class."""
    if not clips:
        raise ValueError("no clips to draw")
    fig, axes = plt.subplots(
        2, len(clips), figsize=(2.6 * len(clips), 3.6), dpi=110, squeeze=False,
        gridspec_kw={"height_ratios": [1, 2]},
    )  # fmt: skip
    for col, (clip, label) in enumerate(zip(clips, labels, strict=True)):
        wave = clip[~torch.isnan(clip)].float().numpy()
        t = np.arange(len(wave)) / sample_rate
        top, bottom = axes[0][col], axes[1][col]
        top.plot(t, wave, color="#2563eb", lw=0.6)
        top.set_xlim(0, max(t[-1] if len(t) else 0.0, 1e-3))
        seconds = len(wave) / sample_rate
        top.set_title(f"{class_name(label, class_names)} · {seconds:.2f} s", fontsize=9)
        top.set_yticks([])
        _spectrogram(bottom, clip, sample_rate)
        bottom.set_xlabel("s", fontsize=8)
        bottom.set_ylabel("mel band" if col == 0 else "", fontsize=8)
        bottom.tick_params(labelsize=7)
        top.tick_params(labelsize=7)
    fig.tight_layout(pad=0.4)
    return to_png(fig)


def neighbour_spectrograms(
    queries: Sequence[torch.Tensor],
    query_labels: Sequence[int],
    neighbours: Sequence[Sequence[torch.Tensor]],
    neighbour_labels: Sequence[Sequence[int]],
    sims: Sequence[Sequence[float]],
    sample_rate: int,
    class_names: Sequence[str] | None = None,
) -> bytes:
    """Rows of a query clip's spectrogram and its nearest bank clips'; green frame = same
    label, red = not (as the image neighbour grid)."""
    rows, cols = len(queries), 1 + max((len(n) for n in neighbours), default=0)
    if rows == 0:
        raise ValueError("no queries for the neighbour grid")
    fig, axes = plt.subplots(rows, cols, figsize=(1.5 * cols, 1.5 * rows), dpi=110, squeeze=False)
    for r in range(rows):
        near = zip(neighbours[r], neighbour_labels[r], sims[r], strict=True)
        cells = [(queries[r], query_labels[r], None), *near]
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(cells):
                ax.axis("off")
                continue
            clip, label, sim = cells[c]
            _spectrogram(ax, clip, sample_rate)
            name = class_name(label, class_names)
            if sim is None:
                ax.set_title(f"query · {name}", fontsize=8, fontweight="bold")
                colour = QUERY
            else:
                ax.set_title(f"{name} · {sim:.2f}", fontsize=8)
                colour = SAME if label == query_labels[r] else OTHER
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3)
    fig.tight_layout(pad=0.4)
    return to_png(fig)
