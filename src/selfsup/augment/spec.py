"""``ViewSpec``: the recipe for one augmented view of an image batch.

A method's views are a list of specs: SimCLR is two equal specs, BYOL two asymmetric ones
(blur 1.0 / blur 0.1 + solarize 0.2), DINO two global plus several small local crops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ViewSpec:
    """One view: random resized crop -> flip -> rotation -> colour jitter -> grayscale -> blur
    -> solarize.

    Strengths follow torchvision's ``ColorJitter``: brightness/contrast/saturation factors are
    drawn from ``[max(0, 1 - s), 1 + s]`` and the hue shift from ``[-hue, hue]`` (fractions of a
    full turn). The defaults are the SimCLR recipe at colour strength 0.5 (CIFAR scale).
    ``blur_kernel`` None means about 10% of ``size``, rounded to an odd number (at least 3).
    ``antialias`` low-pass filters crops that are shrunk (as torchvision's default does); it
    costs nothing when crops are only enlarged, as at CIFAR scale. ``hue_space`` "yiq" is a
    fast chroma rotation, "hsv" the exact HSV hue of torchvision (see ``selfsup.augment.hue``).
    ``rotate_degrees`` > 0 turns each view by an angle uniform in ``[-d, d]`` degrees about its
    centre (bilinear, corners filled black as torchvision's ``RandomRotation``): for data with
    no canonical upright pose or with hand-drawn strokes (digits, cells, aerial images).
    """

    size: int
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    gray_p: float = 0.2
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    blur_kernel: int | None = None
    solarize_p: float = 0.0
    solarize_threshold: float = 0.5
    antialias: bool = True
    hue_space: Literal["yiq", "hsv"] = "yiq"
    rotate_degrees: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 1:
            raise ValueError(f"ViewSpec.size must be a positive int, got {self.size!r}")
        lo, hi = self.scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"ViewSpec.scale must satisfy 0 < min <= max <= 1, got {self.scale}")
        rlo, rhi = self.ratio
        if not 0 < rlo <= rhi:
            raise ValueError(f"ViewSpec.ratio must satisfy 0 < min <= max, got {self.ratio}")
        for name in ("flip_p", "jitter_p", "gray_p", "blur_p", "solarize_p"):
            p = getattr(self, name)
            if not 0 <= p <= 1:
                raise ValueError(f"ViewSpec.{name} must be a probability in [0, 1], got {p}")
        for name in ("brightness", "contrast", "saturation"):
            if getattr(self, name) < 0:
                raise ValueError(f"ViewSpec.{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.hue <= 0.5:
            raise ValueError(f"ViewSpec.hue must be in [0, 0.5], got {self.hue}")
        slo, shi = self.blur_sigma
        if not 0 < slo <= shi:
            raise ValueError(
                f"ViewSpec.blur_sigma must satisfy 0 < min <= max, got {self.blur_sigma}"
            )
        if not 0 <= self.rotate_degrees <= 180:
            raise ValueError(
                f"ViewSpec.rotate_degrees must be in [0, 180], got {self.rotate_degrees}"
            )
        if self.hue_space not in ("yiq", "hsv"):
            raise ValueError(f"ViewSpec.hue_space must be 'yiq' or 'hsv', got {self.hue_space!r}")
        if self.blur_kernel is not None and (self.blur_kernel < 1 or self.blur_kernel % 2 == 0):
            raise ValueError(
                f"ViewSpec.blur_kernel must be a positive odd int, got {self.blur_kernel}"
            )

    @property
    def kernel_size(self) -> int:
        """Blur kernel size: ``blur_kernel`` or ~10% of ``size``, odd, at least 3."""
        if self.blur_kernel is not None:
            return self.blur_kernel
        return max(3, int(0.1 * self.size) // 2 * 2 + 1)

    @property
    def log_ratio(self) -> tuple[float, float]:
        """The aspect-ratio range in log space (ratios are drawn log-uniformly)."""
        return math.log(self.ratio[0]), math.log(self.ratio[1])
