"""Matplotlib figures for the run report, returned as PNG bytes ready to embed."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to memory
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from selfsup.eval.tsne import class_name

Series = list[tuple[int, float]]
_COLOURS = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2")


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def line_plot(
    series: dict[str, Series],
    title: str,
    ylabel: str = "",
    log_y: bool = False,
    percent: bool = False,
    smooth: int = 0,
    unsmoothed: tuple[str, ...] = (),
) -> bytes:
    """One line per named series against training step; ``smooth`` adds a moving average to
    each series not named in ``unsmoothed`` (sparse evaluations are drawn as they are)."""
    if not any(series.values()):
        raise ValueError(f"no data to plot for {title!r}")
    fig, ax = plt.subplots(figsize=(5.6, 3.2), dpi=110)
    for i, (name, points) in enumerate(series.items()):
        if not points:
            continue
        steps = np.array([s for s, _ in points])
        values = np.array([v for _, v in points]) * (100 if percent else 1)
        colour = _COLOURS[i % len(_COLOURS)]
        marker = "o" if len(points) <= 30 else None
        if smooth > 1 and len(values) > 2 * smooth and name not in unsmoothed:
            ax.plot(steps, values, color=colour, alpha=0.25, lw=1)
            kernel = np.ones(smooth) / smooth
            ax.plot(
                steps[smooth - 1 :],
                np.convolve(values, kernel, "valid"),
                color=colour,
                lw=2,
                label=name,
            )
        else:
            ax.plot(steps, values, color=colour, lw=2, marker=marker, ms=4, label=name)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    if log_y and all(v > 0 for pts in series.values() for _, v in pts):
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return to_png(fig)


def neighbour_grid(
    queries: Sequence[torch.Tensor],
    query_labels: Sequence[int],
    neighbours: Sequence[Sequence[torch.Tensor]],
    neighbour_labels: Sequence[Sequence[int]],
    sims: Sequence[Sequence[float]],
    class_names: Sequence[str] | None = None,
) -> bytes:
    """Rows of query image + its nearest bank images; green frame = same label, red = not.
    Titles name the class (``class_names[label]`` where given)."""
    rows, cols = len(queries), 1 + max((len(n) for n in neighbours), default=0)
    if rows == 0:
        raise ValueError("no queries for the neighbour grid")
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.6 * rows), dpi=110, squeeze=False)
    for r in range(rows):
        cells = [(queries[r], query_labels[r], None)] + [
            (img, lab, s)
            for img, lab, s in zip(neighbours[r], neighbour_labels[r], sims[r], strict=True)
        ]
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(cells):
                ax.axis("off")
                continue
            img, lab, sim = cells[c]
            ax.imshow(image_array(img), cmap="gray", interpolation="nearest")
            if sim is None:
                ax.set_title(
                    f"query · {class_name(lab, class_names)}", fontsize=8, fontweight="bold"
                )
                colour = "#111827"
            else:
                ax.set_title(f"{class_name(lab, class_names)} · {sim:.2f}", fontsize=8)
                colour = "#059669" if lab == query_labels[r] else "#dc2626"
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3)
    fig.tight_layout(pad=0.4)
    return to_png(fig)


def image_array(x: torch.Tensor) -> np.ndarray:
    """``[C, H, W]`` uint8 or float tensor as an ``[H, W(, 3)]`` array for imshow."""
    a = x.detach().cpu()
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a.permute(1, 2, 0)
    arr = a.float().numpy()
    if arr.max() > 1.0:
        arr = arr / 255.0
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return np.clip(arr, 0.0, 1.0)


def png_tag(png: bytes, alt: str, css_class: str | None = None) -> str:
    """An ``<img>`` with the PNG embedded as a data URI."""
    data = base64.b64encode(png).decode("ascii")
    cls = f' class="{css_class}"' if css_class else ""
    return f'<img{cls} alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
