"""Reconstruction grids, one image per row under titled columns: MAE (original | masked input |
reconstruction), colorization and inpainting (see ``selfsup.visualize.pretext``); Audio-MAE's
log-mel form is ``selfsup.visualize.audio_reconstruction``."""

from __future__ import annotations

from pathlib import Path

import torch

from selfsup.methods.audio.audio_mae import AudioMAE
from selfsup.methods.base import Method
from selfsup.methods.masked.mae import MAE
from selfsup.nn.masking import patchify, unpatchify
from selfsup.visualize.pretext import draws_pretext, pretext_panels

MASK_GRAY = 0.5  # fill for removed patches in the "masked" panel


@torch.no_grad()
def reconstruction_panels(
    method: Method, images_uint8: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Panels ``[B, 3, C, H, W]`` in ``[0, 1]``: original, masked input, reconstruction.

    Images go through the method's deterministic evaluation view. With a normalised-pixel
    loss the prediction of each masked patch is mapped back with that patch's true mean and
    std (as in the MAE paper's figures). Visible patches show the original pixels.
    """
    if not isinstance(method, MAE):
        raise ValueError(f"reconstructions need an MAE method, got {type(method).__name__}")
    if images_uint8.dtype != torch.uint8 or images_uint8.ndim != 4:
        raise ValueError(
            f"expected uint8 images [B, C, H, W], got {images_uint8.dtype} "
            f"{list(images_uint8.shape)}"
        )
    was_training = method.training
    method.eval()
    device = method.vit.mask_token.device
    x = method.eval_input(images_uint8.to(device))  # normalised [B, C, H, W]
    pred, mask = method.reconstruct(x, generator)  # [B, N, P], [B, N]
    method.train(was_training)
    p = method.vit.patch_size
    h, w = x.shape[2] // p, x.shape[3] // p
    patches = patchify(x, p)
    pred = method.criterion.to_pixels(pred, patches)
    m = mask.unsqueeze(-1)
    masked = unpatchify(torch.where(m, torch.full_like(patches, torch.nan), patches), p, h, w)
    recon = unpatchify(torch.where(m, pred, patches), p, h, w)
    panels = torch.stack([_to_unit(method, x), _to_unit(method, masked), _to_unit(method, recon)])
    panels = torch.nan_to_num(panels, nan=MASK_GRAY)
    return panels.transpose(0, 1).clamp(0, 1).cpu()


def check_reconstructs(method: Method) -> None:
    """ValueError unless ``method`` can draw reconstructions (checked before any data is read)."""
    if not isinstance(method, MAE | AudioMAE) and not draws_pretext(method):
        raise ValueError(
            "reconstructions need an mae, colorization or inpainting method (audio: "
            f"audio_mae), got {type(method).__name__}"
        )


def save_reconstruction_grid(
    method: Method,
    images_uint8: torch.Tensor,
    path: str | Path,
    *,
    max_images: int = 8,
    seed: int = 0,
    panel_inches: float = 1.6,
) -> Path:
    """Write a PNG, one row per image under titled columns (MAE: original | masked |
    reconstruction; colorization and inpainting: see :func:`pretext_panels`).

    Args:
        method: a (trained) ``mae``, ``colorization`` or ``inpainting`` method.
        images_uint8: raw images ``[B, C, H, W]``; the first ``max_images`` are shown.
        path: PNG file to write (parent folders are created).
        seed: seeds the random masks, so a figure can be reproduced.
        panel_inches: size of each panel (at 100 dpi): small images are drawn with visible
            pixels rather than as thumbnails.

    Returns the path written.
    """
    if max_images < 1:
        raise ValueError(f"max_images must be >= 1, got {max_images}")
    check_reconstructs(method)
    if isinstance(method, AudioMAE):
        raise ValueError("audio_mae reconstructions are drawn from clips, not images")
    if draws_pretext(method):
        device = next(method.parameters()).device
        gen = torch.Generator(device=device).manual_seed(seed)
        panels, titles = pretext_panels(method, images_uint8[:max_images], gen)
        return _draw(panels, titles, Path(path), panel_inches)
    assert isinstance(method, MAE)
    gen = torch.Generator(device=method.vit.mask_token.device)
    panels = reconstruction_panels(method, images_uint8[:max_images], gen.manual_seed(seed))
    ratio = getattr(method, "mask_ratio", None)
    masked = f"masked ({100 * ratio:.0f}%)" if isinstance(ratio, float) else "masked"
    return _draw(panels, ("original", masked, "reconstruction"), Path(path), panel_inches)


def _draw(panels: torch.Tensor, titles: tuple[str, ...], out: Path, inches: float) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    rows, cols = panels.shape[:2]
    fig, axes = plt.subplots(
        rows, cols, figsize=(inches * cols, inches * rows + 0.3), squeeze=False, dpi=100
    )
    for i in range(rows):
        for j in range(cols):
            rgb = panels[i, j].permute(1, 2, 0).numpy()
            gray = rgb.shape[-1] == 1
            axes[i][j].imshow(rgb[..., 0] if gray else rgb, cmap="gray" if gray else None,
                              vmin=0.0, vmax=1.0, interpolation="nearest")  # fmt: skip
            axes[i][j].set_axis_off()
            if i == 0:
                axes[i][j].set_title(titles[j], fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def _to_unit(method: Method, x: torch.Tensor) -> torch.Tensor:
    """Undo the augment's normalisation (identity if it has none)."""
    mean, std = getattr(method.augment, "mean", None), getattr(method.augment, "std", None)
    if isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor):
        return x * std.to(x) + mean.to(x)
    return x
