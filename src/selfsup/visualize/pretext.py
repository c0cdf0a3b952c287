"""What the pixel-predicting pretext tasks make of held-out images: colorization (original |
lightness the encoder sees | colourised) and inpainting (original | with its hole | filled)."""

from __future__ import annotations

import torch

from selfsup.augment.lab import L_MAX, rgb_to_lab
from selfsup.methods.base import Method
from selfsup.methods.pretext.colorization import Colorization
from selfsup.methods.pretext.inpainting import Inpainting

HOLE_GRAY = 0.5  # fill of the hidden region in the "with hole" panel

PRETEXT_FIGURE_METHODS = (Colorization, Inpainting)


def draws_pretext(method: Method) -> bool:
    """Whether ``method`` is a pretext task with pictures of its own."""
    return isinstance(method, PRETEXT_FIGURE_METHODS)


def _view_rgb(method: Method, images_uint8: torch.Tensor) -> torch.Tensor:
    """The method's deterministic eval view (resize + normalise), as RGB in [0, 1]."""
    x = Method.eval_input(method, images_uint8)  # the view, not a method's own input
    mean, std = getattr(method.augment, "mean", None), getattr(method.augment, "std", None)
    if isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor):
        x = x * std.to(x) + mean.to(x)
    return x.clamp(0.0, 1.0)


@torch.no_grad()
def pretext_panels(
    method: Method, images_uint8: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, tuple[str, str, str]]:
    """Panels ``[B, 3, C, H, W]`` in ``[0, 1]`` and their column titles.

    Colorization: the image, the lightness alone (what the encoder is given), the colours
    the method predicts from it. Inpainting: the image, the image with the hole the method
    was trained to fill (drawn grey), and the image with the hole filled by its prediction.
    """
    if not draws_pretext(method):
        raise ValueError(f"no pretext pictures for {type(method).__name__}")
    was_training = method.training
    method.eval()
    try:
        device = next(method.parameters()).device
        images = images_uint8.to(device)
        original = _view_rgb(method, images)
        if isinstance(method, Colorization):
            lightness = rgb_to_lab(original)[:, :1] / L_MAX
            grey = lightness.expand_as(original)
            colour = method.colorize(images).clamp(0.0, 1.0)
            panels = torch.stack([original, grey, colour])
            titles = ("original", "lightness (input)", "colourised")
        else:
            assert isinstance(method, Inpainting)
            x = Method.eval_input(method, images)
            hole, _ = method.masks(x, generator)
            pred, _ = method.reconstruct(x, hole)
            mean = getattr(method.augment, "mean").to(x)  # noqa: B009
            std = getattr(method.augment, "std").to(x)  # noqa: B009
            filled = (torch.where(hole, pred.to(x.dtype), x) * std + mean).clamp(0.0, 1.0)
            holed = torch.where(hole, torch.full_like(original, HOLE_GRAY), original)
            panels = torch.stack([original, holed, filled])
            area = f"{100 * method.hole_area:.0f}%"
            titles = ("original", f"hole ({area}, {method.hole})", "filled in")
    finally:
        method.train(was_training)
    return panels.transpose(0, 1).cpu(), titles
