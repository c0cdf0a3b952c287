"""sRGB <-> Lab round trip and the in-gamut ab bins of colorization."""

from __future__ import annotations

import torch

from selfsup.augment.lab import in_gamut_ab_bins, lab_to_rgb, nearest_ab_bin, rgb_to_lab


def test_round_trip_is_within_1e_4() -> None:
    gen = torch.Generator().manual_seed(0)
    rgb = torch.rand(4, 3, 64, 64, generator=gen)
    edges = torch.tensor([0.0, 1 / 255, 0.04045, 0.5, 254 / 255, 1.0])  # incl. the sRGB knee
    grid = torch.cartesian_prod(edges, edges, edges).t().reshape(1, 3, -1, 1)
    for x in (rgb, grid):
        assert (lab_to_rgb(rgb_to_lab(x)) - x).abs().max() < 1e-4


def test_known_colours() -> None:
    white_black = torch.tensor([1.0, 0.0]).view(1, 1, 2, 1).expand(1, 3, 2, 1)
    lab = rgb_to_lab(white_black)[0, :, :, 0]  # [Lab, pixel]
    torch.testing.assert_close(lab[:, 0], torch.tensor([100.0, 0.0, 0.0]), atol=0.01, rtol=0)
    torch.testing.assert_close(lab[:, 1], torch.zeros(3), atol=1e-3, rtol=0)
    red = rgb_to_lab(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)).flatten()
    torch.testing.assert_close(red, torch.tensor([53.24, 80.09, 67.20]), atol=0.05, rtol=0)


def test_ab_bins_cover_the_gamut() -> None:
    bins = in_gamut_ab_bins(10.0)
    assert 250 <= bins.shape[0] <= 320  # the paper's grid keeps 313
    gen = torch.Generator().manual_seed(0)
    # Random colours and a dense sampling of the cube's surface (where the gamut's rim is).
    faces = torch.linspace(0, 1, 600)  # not the 256 levels the bins were built from
    u, v = (t.flatten() for t in torch.meshgrid(faces, faces, indexing="ij"))
    surface = [
        torch.stack([u, v, torch.full_like(u, s)]).roll(r, 0) for s in (0, 1) for r in range(3)
    ]
    rgb = torch.cat([torch.rand(3, 100_000, generator=gen), *surface], dim=1)
    ab = rgb_to_lab(rgb.view(1, 3, -1, 1))[0, 1:, :, 0].t()  # [N, 2]
    # Every colour's own grid cell is a bin.
    cells = {tuple(c) for c in torch.round(ab / 10).long().unique(dim=0).tolist()}
    kept = {tuple(c) for c in (bins / 10).round().long().tolist()}
    assert cells <= kept, sorted(cells - kept)
    # And no bin is far outside the gamut (only cells its rim touches are kept).
    assert torch.cdist(bins, ab[::13]).min(1).values.max() < 10.0
    assert torch.equal(bins[nearest_ab_bin(bins + 1.0, bins)], bins)
