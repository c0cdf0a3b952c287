"""MAE reconstruction panels and the PNG grid written from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from selfsup.augment import (
    create_augment,
    minimal,  # noqa: F401  (registers "crop_flip")
)
from selfsup.backbones import create_backbone
from selfsup.methods.masked.mae import MAE
from selfsup.visualize.reconstruction import (
    MASK_GRAY,
    reconstruction_panels,
    save_reconstruction_grid,
)


def mae() -> MAE:
    torch.manual_seed(0)
    backbone = create_backbone("vit_tiny", img_size=16, patch_size=4, depth=1)
    augment = create_augment("crop_flip", size=16)
    return MAE(backbone, augment, decoder_dim=16, decoder_depth=1, decoder_heads=2)


def images(n: int = 3) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=None)


def test_panels_show_original_masked_and_reconstruction() -> None:
    method, x = mae(), images()
    panels = reconstruction_panels(method, x, torch.Generator().manual_seed(0))
    assert panels.shape == (3, 3, 3, 16, 16)
    original, masked, recon = panels.unbind(1)
    torch.testing.assert_close(original, x.float() / 255, atol=1e-5, rtol=0)
    hidden = masked == MASK_GRAY
    # Per patch (4x4 px): a masked patch is gray everywhere; the recon differs there only.
    per_patch = hidden.all(1).reshape(3, 4, 4, 4, 4).permute(0, 1, 3, 2, 4).reshape(3, 16, 16)
    masked_patches = per_patch.all(-1)
    assert masked_patches.sum(1).tolist() == [12, 12, 12]  # 75% of 16 patches
    visible_px = ~hidden.all(1, keepdim=True).expand_as(recon)
    torch.testing.assert_close(recon[visible_px], original[visible_px])
    assert not torch.allclose(recon[~visible_px], original[~visible_px], atol=1e-2)


def test_png_has_titled_columns_and_panels_big_enough_to_see(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.axes import Axes

    titles: list[str] = []
    real = Axes.set_title
    monkeypatch.setattr(
        Axes, "set_title", lambda ax, t, **kw: (titles.append(t), real(ax, t, **kw))[1]
    )
    method, x = mae(), images(4)
    out = save_reconstruction_grid(method, x, tmp_path / "sub" / "grid.png", max_images=2)
    width, height = Image.open(out).size
    assert titles == ["original", "masked (75%)", "reconstruction"]
    assert width == 3 * 160 and height == 2 * 160 + 30  # 16 px images drawn 10x, not thumbnails
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert pixels.std() > 10  # the images are drawn, not a blank canvas


def test_rejects_non_mae_and_float_images(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8 images"):
        reconstruction_panels(mae(), torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="need an MAE method"):
        reconstruction_panels(torch.nn.Module(), images())  # type: ignore[arg-type]
