"""One item drawn small, by its modality, as an HTML fragment for a report table: an image as
a pixelated thumbnail, a clip as its log-mel spectrogram (low frequencies at the bottom), a
text as the text itself. Thumbnails are drawn straight to PNG (no axes), so a table of dozens
of them stays quick to make and small to embed."""

from __future__ import annotations

import html
import io

import matplotlib
import numpy as np
import torch
from PIL import Image

from selfsup.report.plots import image_array, png_tag
from selfsup.report.sections_audio import log_mel_db

IMAGE_PX = 48  # the long side of an image thumbnail
SPECTROGRAM_PX = (96, 48)  # width (time), height (mel bands)
TEXT_CHARS = 80  # longer texts are cut, with an ellipsis


def item_html(
    modality: str, x: torch.Tensor | None, text: str | None = None, sample_rate: int | None = None
) -> str:
    """``x`` (one item's input) drawn as its ``modality`` is: ``text`` for a text item (its
    string; the token ids are not shown), ``sample_rate`` for a clip."""
    if modality == "text":
        shown = text if text is not None else "(text not kept)"
        if len(shown) > TEXT_CHARS:
            shown = shown[: TEXT_CHARS - 1] + "…"
        return f'<span class="item-text">{html.escape(shown)}</span>'
    if x is None:
        raise ValueError(f"no input to draw for a {modality} item")
    if modality == "audio":
        if sample_rate is None:
            raise ValueError("drawing a clip needs its sample rate")
        return png_tag(spectrogram_png(x, sample_rate), "log-mel spectrogram", "thumb")
    if modality == "image":
        return png_tag(image_png(x), "image", "thumb")
    raise ValueError(f"no thumbnail for {modality} items")


def image_png(x: torch.Tensor) -> bytes:
    """A ``[C, H, W]`` image (uint8 or float) as a PNG scaled (nearest) to :data:`IMAGE_PX`."""
    arr = (image_array(x) * 255).round().astype(np.uint8)
    img = Image.fromarray(arr)
    scale = IMAGE_PX / max(img.size)
    size = (max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale)))
    return _png(img.resize(size, Image.Resampling.NEAREST))


def spectrogram_png(clip: torch.Tensor, sample_rate: int) -> bytes:
    """A waveform's log-mel spectrogram (magma colours, scaled per clip) as a small PNG."""
    db = log_mel_db(clip, sample_rate)[::-1]  # low frequencies at the bottom
    lo, hi = float(db.min()), float(db.max())
    rgb = matplotlib.colormaps["magma"]((db - lo) / max(hi - lo, 1e-6))[..., :3]
    img = Image.fromarray((rgb * 255).round().astype(np.uint8))
    return _png(img.resize(SPECTROGRAM_PX, Image.Resampling.BILINEAR))


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
