"""Inpainting holes: the configured area, where they are meant to be, and their border band."""

from __future__ import annotations

import pytest
import torch

from selfsup.nn.region_masks import border_band, hole_side, square_hole_masks


@pytest.mark.parametrize("mode", ["center", "random"])
@pytest.mark.parametrize(("size", "area"), [(32, 0.25), (32, 0.1), (64, 0.4), (15, 0.3)])
def test_masks_cover_the_configured_area(mode: str, size: int, area: float) -> None:
    gen = torch.Generator().manual_seed(0)
    masks = square_hole_masks(16, size, area, mode, gen)  # type: ignore[arg-type]
    assert masks.shape == (16, 1, size, size) and masks.dtype == torch.bool
    covered = masks.flatten(1).float().mean(1)
    # A square of whole pixels: within one pixel row of the requested side.
    side = hole_side(size, area)
    assert abs(side - area**0.5 * size) <= 0.5
    assert torch.all(covered == side * side / size**2)
    assert torch.all((covered - area).abs() <= (2 * side + 1) / size**2)
    rows, cols = masks[:, 0].any(2), masks[:, 0].any(1)  # each hole is one solid square
    assert torch.all(rows.sum(1) == side) and torch.all(cols.sum(1) == side)


def test_center_holes_are_centred_and_random_ones_move() -> None:
    centre = square_hole_masks(2, 32, 0.25, "center")
    assert centre[0, 0, 8:24, 8:24].all() and centre[0].sum() == 256
    moving = square_hole_masks(16, 32, 0.25, "random", torch.Generator().manual_seed(0))
    assert len({m.nonzero()[0].tolist().__str__() for m in moving}) > 1


def test_border_band_rings_the_hole() -> None:
    hole = square_hole_masks(1, 16, 0.25, "center")  # rows/cols 4..11
    band = border_band(hole, 2)
    assert not (band & hole).any()
    assert band[0, 0, 2:14, 2:14].sum() == 12 * 12 - 8 * 8 and band.sum() == 12 * 12 - 8 * 8
    assert not border_band(hole, 0).any()


@pytest.mark.parametrize(("area", "mode"), [(0.0, "center"), (1.0, "center"), (0.2, "ring")])
def test_bad_settings_are_refused(area: float, mode: str) -> None:
    with pytest.raises(ValueError, match="hole"):
        square_hole_masks(1, 16, area, mode)  # type: ignore[arg-type]
