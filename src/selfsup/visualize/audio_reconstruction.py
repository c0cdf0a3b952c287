"""Audio-MAE reconstructions as log-mel pictures: original | masked input | reconstruction.

Everything is drawn in the spectrogram ViT's own input space (the per-clip standardised
log-mel image its patches are cut from), so the panels show exactly what the encoder saw and
what the decoder predicted; each clip is cropped to its real frames (padding is never shown).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from selfsup.files import temp_beside
from selfsup.methods.audio.audio_mae import AudioMAE
from selfsup.methods.base import Method
from selfsup.nn.audio_padding import pad_clips
from selfsup.nn.masking import unpatchify


@dataclass(frozen=True)
class SpectrogramPanels:
    """Three log-mel images per clip and where each clip's real frames end."""

    panels: torch.Tensor  # [B, 3, n_mels, W]: original, masked (NaN = hidden), reconstruction
    frames: torch.Tensor  # long [B]: real frames of each clip (columns beyond are padding)
    mask: torch.Tensor  # bool [B, N]: the masked real patches (the loss positions)
    pred: torch.Tensor  # [B, N, p * p]: decoder output mapped back to log-mel values


def check_audio_reconstructs(method: Method) -> AudioMAE:
    """``method`` as an Audio-MAE; ValueError (one line) for any other method."""
    if not isinstance(method, AudioMAE):
        raise ValueError(
            f"spectrogram reconstructions need an audio_mae method, got {type(method).__name__}"
        )
    return method


@torch.no_grad()
def audio_reconstruction_panels(
    method: Method, clips: Sequence[torch.Tensor], generator: torch.Generator | None = None
) -> SpectrogramPanels:
    """Mask ``clips`` (mono waveforms ``[T]`` at the encoder's rate) with the method's own
    ratio, and return original | masked | reconstruction log-mels.

    With a normalised-patch loss each masked patch's prediction is mapped back with that
    patch's true mean and std (as the MAE papers draw them); visible patches show the input.
    """
    mae = check_audio_reconstructs(method)
    if not clips or any(c.ndim != 1 or not c.is_floating_point() for c in clips):
        raise ValueError("spectrogram reconstructions need mono float waveforms [T]")
    was_training = mae.training
    mae.eval()
    try:
        device = mae.vit.mask_token.device
        x = mae.eval_input(pad_clips([c.float() for c in clips]).to(device))
        out = mae.reconstruct(x, mae.noise(x, generator))
    finally:
        mae.train(was_training)
    patches, pred = out.patches.float(), out.pred.float()
    pred = mae.criterion.to_pixels(pred, patches)
    m = out.mask[..., None]
    p, (n_f, n_t) = mae.vit.patch_size, out.grid
    hidden = torch.where(m, torch.full_like(patches, torch.nan), patches)
    images = [
        unpatchify(t, p, n_f, n_t)[:, 0] for t in (patches, hidden, torch.where(m, pred, patches))
    ]
    frames = mae.vit.spectrogram.log_mel.frame_lengths(x)
    return SpectrogramPanels(torch.stack(images, 1).cpu(), frames.cpu(), out.mask.cpu(), pred.cpu())


def save_audio_reconstruction_grid(
    method: Method,
    clips: Sequence[torch.Tensor],
    path: str | Path,
    *,
    max_clips: int = 8,
    seed: int = 0,
    titles: Sequence[str] | None = None,
) -> Path:
    """Write a PNG, one row per clip (the first ``max_clips``): original | masked |
    reconstruction log-mels, low frequencies at the bottom, time in seconds.

    Args:
        method: a (trained) ``audio_mae`` method.
        clips: mono waveforms ``[T]`` at the encoder's sample rate.
        path: PNG file to write atomically (parent folders are created).
        seed: seeds the random masks, so a figure can be reproduced.
        titles: optional row labels (e.g. the clips' classes).

    Returns the path written.
    """
    if max_clips < 1:
        raise ValueError(f"max_clips must be >= 1, got {max_clips}")
    mae = check_audio_reconstructs(method)
    gen = torch.Generator(device=mae.vit.mask_token.device).manual_seed(seed)
    shown = list(clips)[:max_clips]
    drawn = audio_reconstruction_panels(mae, shown, gen)
    cols = ("original", f"masked ({100 * mae.mask_ratio:.0f}%)", "reconstruction")
    return _draw(
        drawn,
        cols,
        titles,
        mae.vit.spectrogram.log_mel.hop_length / mae.vit.sample_rate,
        Path(path),
    )


def _draw(
    drawn: SpectrogramPanels,
    cols: tuple[str, ...],
    titles: Sequence[str] | None,
    frame_seconds: float,
    out: Path,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("magma").with_extremes(bad="#9ca3af")  # hidden patches in gray
    rows = drawn.panels.shape[0]
    fig, axes = plt.subplots(rows, 3, figsize=(7.5, 1.5 * rows + 0.4), squeeze=False, dpi=100)
    for i in range(rows):
        f = max(1, int(drawn.frames[i]))
        real = drawn.panels[i, 0, :, :f]
        lo, hi = float(real.min()), float(real.max())  # one colour scale per row
        for j in range(3):
            ax = axes[i][j]
            ax.imshow(drawn.panels[i, j, :, :f].numpy(), origin="lower", aspect="auto", cmap=cmap,
                      vmin=lo, vmax=hi, interpolation="nearest",
                      extent=(0, f * frame_seconds, 0, real.shape[0]))  # fmt: skip
            ax.tick_params(labelsize=6)
            if i == 0:
                ax.set_title(cols[j], fontsize=9)
            if j == 0:
                ax.set_ylabel(titles[i] if titles else "mel band", fontsize=7)
            if i == rows - 1:
                ax.set_xlabel("s", fontsize=7)
    fig.tight_layout(pad=0.4)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(out)  # a killed run never leaves half a PNG for the report
    try:
        with os.fdopen(fd, "wb") as f_out:
            fig.savefig(f_out, format="png")
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
