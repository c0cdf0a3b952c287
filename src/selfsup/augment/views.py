"""``ImageViews``: batched, on-device view-making from a list of ``ViewSpec``.

Input is a uint8 batch ``[B, C, H, W]`` (C = 1 or 3) on any device; each spec gives one float32
view ``[B, C', size, size]`` normalised with ``mean``/``std``. All random parameters come from
the ``generator`` passed to ``forward`` (on the input's device), so a seed fixes the views.

1-channel input is processed as one channel (colour-only ops are identities on gray images)
and, when ``mean``/``std`` have 3 values, replicated to 3 channels at normalisation: the same
result as expanding to RGB first, at a third of the cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from selfsup.augment.color import color_jitter, random_grayscale, random_solarize
from selfsup.augment.geometry import crop_resize, gaussian_blur, rotate
from selfsup.augment.params import ViewParams, sample_view_params
from selfsup.augment.spec import ViewSpec


class ImageViews(nn.Module):
    """Make one augmented view per ``ViewSpec`` of a uint8 image batch, whole batch at once.

    Per view: random resized crop + horizontal flip (one separable resampling that also maps
    uint8 to [0, 1]), rotation where the spec asks for it, colour jitter with a random op order
    per batch, random grayscale, Gaussian blur, solarize, then normalisation.
    ``sample_params`` + ``render`` expose the two halves of ``forward`` so the drawn
    parameters can be inspected or replayed.
    """

    def __init__(
        self,
        specs: Sequence[ViewSpec],
        mean: Sequence[float],
        std: Sequence[float],
    ) -> None:
        super().__init__()
        if not specs:
            raise ValueError("ImageViews needs at least one ViewSpec")
        if len(mean) not in (1, 3) or len(std) != len(mean):
            raise ValueError(
                f"mean and std need 1 or 3 values each, got {len(mean)} and {len(std)}"
            )
        if any(s <= 0 for s in std):
            raise ValueError(f"std values must be > 0, got {tuple(std)}")
        self.specs = list(specs)
        # Buffers follow .to(device); not persistent, so checkpoints hold no recipe constants.
        mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        self.register_buffer("mean", mean_t, persistent=False)
        self.register_buffer("std", std_t, persistent=False)
        self.mean: torch.Tensor
        self.std: torch.Tensor

    @property
    def num_views(self) -> int:
        """How many views ``forward`` returns."""
        return len(self.specs)

    @torch.no_grad()
    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> list[torch.Tensor]:
        """One normalised float32 view per spec of the uint8 batch ``x``."""
        self._check_input(x, generator)
        params = self.sample_params(x.shape[0], x.shape[2], x.shape[3], x.device, generator)
        return self.render(x, params)

    def sample_params(
        self,
        batch: int,
        height: int,
        width: int,
        device: torch.device | str = "cpu",
        generator: torch.Generator | None = None,
    ) -> list[ViewParams]:
        """Draw every view's per-sample parameters for ``batch`` images of ``height x width``."""
        device = torch.device(device)
        return [sample_view_params(s, batch, height, width, device, generator) for s in self.specs]

    @torch.no_grad()
    def render(self, x: torch.Tensor, params: Sequence[ViewParams]) -> list[torch.Tensor]:
        """Apply given parameters (one ``ViewParams`` per spec) to the uint8 batch ``x``."""
        self._check_input(x, None)
        if len(params) != len(self.specs):
            raise ValueError(f"got {len(params)} ViewParams for {len(self.specs)} views")
        source = x.float()  # shared by all views; the 1/255 is folded into the resampling
        return [self._render_one(source, s, p) for s, p in zip(self.specs, params, strict=True)]

    @torch.no_grad()
    def eval_view(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic view for feature extraction: the largest centred square, resized to the
        first spec's size when it differs, normalised."""
        self._check_input(x, None)
        b, _, h, w = x.shape
        size = self.specs[0].size
        side = min(h, w)
        box = torch.tensor([(w - side) / 2, (h - side) / 2, side, side], device=x.device)
        box = box.expand(b, 4)
        if h == w == size:
            return self._normalize(x.float().mul_(1.0 / 255.0))
        return self._normalize(crop_resize(x.float(), box, size, None, True, gain=1.0 / 255.0))

    def _render_one(self, source: torch.Tensor, spec: ViewSpec, p: ViewParams) -> torch.Tensor:
        v = crop_resize(source, p.box, spec.size, p.flip, spec.antialias, gain=1.0 / 255.0)
        # Skips below depend on the spec only, never on drawn values (no device sync).
        if p.angle is not None:
            v = rotate(v, p.angle)
        if spec.jitter_p > 0:
            v = color_jitter(
                v,
                p.brightness,
                p.contrast,
                p.saturation,
                p.hue,
                p.order,
                hue_space=spec.hue_space if spec.hue > 0 else None,
            )
        if spec.gray_p > 0:
            v = random_grayscale(v, p.gray)
        if spec.blur_p > 0:
            v = gaussian_blur(v, p.blur_sigma, spec.kernel_size)
        if spec.solarize_p > 0:
            v = random_solarize(v, p.solarize, spec.solarize_threshold)
        return self._normalize(v)

    def _normalize(self, v: torch.Tensor) -> torch.Tensor:
        """``(v - mean) / std``, in place on ``v`` (always a fresh tensor here)."""
        mean, std = self.mean.to(v.device), self.std.to(v.device)
        if v.shape[1] == 1 and mean.shape[1] == 3:
            return (v - mean) / std  # broadcasts 1 channel to 3
        return v.sub_(mean).div_(std)

    def _check_input(self, x: object, generator: torch.Generator | None) -> None:
        if not isinstance(x, torch.Tensor):
            raise ValueError(
                f"ImageViews expects a uint8 tensor [B, C, H, W], got {type(x).__name__}"
            )
        if x.dtype != torch.uint8:
            raise ValueError(f"ImageViews expects uint8 images, got dtype {x.dtype}")
        if x.ndim != 4:
            raise ValueError(f"ImageViews expects [B, C, H, W] images, got shape {tuple(x.shape)}")
        if x.shape[1] not in (1, 3):
            raise ValueError(
                f"ImageViews expects 1 or 3 channels, got {x.shape[1]} (shape {tuple(x.shape)})"
            )
        if self.mean.shape[1] == 1 and x.shape[1] == 3:
            raise ValueError("ImageViews has 1-value mean/std but got 3-channel images")
        if generator is not None and generator.device.type != x.device.type:
            raise ValueError(f"generator is on {generator.device} but the images are on {x.device}")
