"""RotNet's batch: every image in four exact rotations, labelled by the rotation."""

from __future__ import annotations

import torch

from selfsup.methods.pretext.rotation import all_rotations


def test_rotations_are_exact_and_labelled() -> None:
    images = torch.randn(3, 2, 5, 5)
    rotated, labels = all_rotations(images)
    assert rotated.shape == (12, 2, 5, 5)
    assert labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    # 90 degrees counter-clockwise: out[i, j] = in[j, S - 1 - i], built by hand.
    i, j = torch.meshgrid(torch.arange(5), torch.arange(5), indexing="ij")
    by_hand = images[:, :, j, 4 - i]
    assert torch.equal(rotated[3:6], by_hand)
    assert torch.equal(rotated[:3], images)
    assert torch.equal(rotated[6:9], images.flip(2, 3))
    assert torch.equal(torch.rot90(rotated[9:], 1, dims=(2, 3)), images)  # 270 + 90 = 360
