"""Per-sample random parameters of one view, drawn for the whole batch at once.

Every view draws the same number of random values whatever its probabilities, from one
``torch.rand`` call on the given generator, so a seed fixes the views and a run resumed from a
step-derived seed repeats them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from selfsup.augment.spec import ViewSpec

CROP_TRIES = 10  # like torchvision's RandomResizedCrop: 10 tries, then a centre crop

# Column layout of the uniform draws: crop scale and log-ratio tries, then one column each.
_SCALE = slice(0, CROP_TRIES)
_RATIO = slice(CROP_TRIES, 2 * CROP_TRIES)
_X, _Y, _FLIP, _JITTER, _B, _C, _S, _H, _GRAY, _BLUR, _SIGMA, _SOLAR = range(
    2 * CROP_TRIES, 2 * CROP_TRIES + 12
)
_COLUMNS = 2 * CROP_TRIES + 12

JITTER_OPS = ("brightness", "contrast", "saturation", "hue")


@dataclass
class ViewParams:
    """The drawn parameters of one view for a batch of ``B`` images (all tensors are ``[B]``
    except ``box``).

    ``box`` is ``[B, 4]`` = (x0, y0, width, height) in input pixels; boxes are sub-pixel (not
    rounded), so crop scale and aspect ratio land exactly in the configured ranges.
    Colour factors are identities (1, 1, 1, 0) where ``jitter`` is False; ``order`` is the
    permutation of ``JITTER_OPS`` used for the whole batch; ``blur_sigma`` is 0 where no blur.
    ``angle`` is the rotation in degrees, None when the spec does not rotate.
    """

    box: torch.Tensor
    flip: torch.Tensor
    jitter: torch.Tensor
    brightness: torch.Tensor
    contrast: torch.Tensor
    saturation: torch.Tensor
    hue: torch.Tensor
    order: tuple[int, ...]
    gray: torch.Tensor
    blur_sigma: torch.Tensor
    solarize: torch.Tensor
    angle: torch.Tensor | None = None

    @classmethod
    def identity(
        cls, batch: int, height: int, width: int, device: torch.device | str = "cpu"
    ) -> ViewParams:
        """Parameters that change nothing: the full image, no flip, no colour change."""
        box = torch.tensor([0.0, 0.0, width, height], device=device).expand(batch, 4).clone()
        no = torch.zeros(batch, dtype=torch.bool, device=device)
        one = torch.ones(batch, device=device)
        zero = torch.zeros(batch, device=device)
        return cls(
            box,
            no,
            no.clone(),
            one,
            one.clone(),
            one.clone(),
            zero,
            (0, 1, 2, 3),
            no.clone(),
            zero.clone(),
            no.clone(),
        )


def sample_view_params(
    spec: ViewSpec,
    batch: int,
    height: int,
    width: int,
    device: torch.device,
    generator: torch.Generator | None = None,
) -> ViewParams:
    """Draw one view's parameters for a batch of ``height x width`` images."""
    u = torch.rand(batch, _COLUMNS, device=device, generator=generator)
    order = tuple(torch.randperm(4, device=device, generator=generator).tolist())
    box = _crop_boxes(spec, u, height, width)

    jitter = u[:, _JITTER] < spec.jitter_p
    b, c, s = (
        _factor(u[:, i], strength, jitter)
        for i, strength in ((_B, spec.brightness), (_C, spec.contrast), (_S, spec.saturation))
    )
    hue = torch.where(jitter, (2 * u[:, _H] - 1) * spec.hue, 0.0)
    blur = u[:, _BLUR] < spec.blur_p
    lo, hi = spec.blur_sigma
    sigma = torch.where(blur, lo + (hi - lo) * u[:, _SIGMA], 0.0)
    angle = None
    if spec.rotate_degrees > 0:  # its own draw, so specs without rotation keep their streams
        turn = torch.rand(batch, device=device, generator=generator)
        angle = (2 * turn - 1) * spec.rotate_degrees
    return ViewParams(
        box=box,
        flip=u[:, _FLIP] < spec.flip_p,
        jitter=jitter,
        brightness=b,
        contrast=c,
        saturation=s,
        hue=hue,
        order=order,
        gray=u[:, _GRAY] < spec.gray_p,
        blur_sigma=sigma,
        solarize=u[:, _SOLAR] < spec.solarize_p,
        angle=angle,
    )


def _factor(u: torch.Tensor, strength: float, apply: torch.Tensor) -> torch.Tensor:
    """A jitter factor uniform in ``[max(0, 1 - strength), 1 + strength]``; 1 where not applied."""
    lo = max(0.0, 1.0 - strength)
    return torch.where(apply, lo + (1.0 + strength - lo) * u, 1.0)


def _crop_boxes(spec: ViewSpec, u: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """RandomResizedCrop boxes ``[B, 4]``: the first of the tries that fits, else a centre crop.

    Area fraction is uniform in ``scale`` and aspect ratio log-uniform in ``ratio``, as in
    torchvision, but the box is kept sub-pixel instead of rounded to whole pixels.
    """
    area = float(height * width)
    target = area * (spec.scale[0] + (spec.scale[1] - spec.scale[0]) * u[:, _SCALE])
    lr0, lr1 = spec.log_ratio
    aspect = torch.exp(lr0 + (lr1 - lr0) * u[:, _RATIO])
    w = torch.sqrt(target * aspect)  # [B, tries]
    h = torch.sqrt(target / aspect)
    fits = (w <= width) & (h <= height)
    first = fits.to(torch.uint8).argmax(dim=1, keepdim=True)  # index of the first fitting try
    w = w.gather(1, first).squeeze(1)
    h = h.gather(1, first).squeeze(1)

    # Fallback when no try fits: the largest centred box whose aspect is within range.
    in_ratio = width / height
    if in_ratio < spec.ratio[0]:
        fw, fh = float(width), width / spec.ratio[0]
    elif in_ratio > spec.ratio[1]:
        fw, fh = height * spec.ratio[1], float(height)
    else:
        fw, fh = float(width), float(height)
    any_fit = fits.any(dim=1)
    w = torch.where(any_fit, w, fw)
    h = torch.where(any_fit, h, fh)
    x0 = torch.where(any_fit, u[:, _X] * (width - w), (width - w) / 2)
    y0 = torch.where(any_fit, u[:, _Y] * (height - h), (height - h) / 2)
    return torch.stack([x0, y0, w, h], dim=1)
