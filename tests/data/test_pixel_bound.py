"""Images over the pixel bound (real or a forged header) are skipped as "too large" before
their pixels are decoded; everything under it decodes as before."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data.helpers import encode, solid_png, write
from selfsup.data.decode import BadImage, _jpeg_dimensions, decode_image
from selfsup.data.sources import build_dataset


def jpeg(width: int, height: int) -> bytes:
    rng = np.random.default_rng(0)
    return encode(Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)), "JPEG")


def forged_jpeg(width: int, height: int) -> bytes:
    """A small real JPEG whose start-of-frame claims ``width`` x ``height``."""
    data = bytearray(jpeg(8, 8))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    data[sof + 7 : sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


def test_the_jpeg_header_gives_its_size_without_decoding() -> None:
    assert _jpeg_dimensions(jpeg(24, 10)) == (24, 10)
    assert _jpeg_dimensions(forged_jpeg(60000, 50000)) == (60000, 50000)
    assert _jpeg_dimensions(b"\xff\xd8\xff\xe0") is None


@pytest.mark.parametrize(("data", "bound"), [
    (solid_png(1, (100, 80)), 7999),  # a real PNG one pixel over
    (jpeg(100, 80), 7999),  # the fast JPEG path checks its header too
    (forged_jpeg(60000, 50000), 64_000_000),  # 3 G pixels claimed by a 700-byte file
])  # fmt: skip
def test_over_the_bound_is_too_large(data: bytes, bound: int) -> None:
    with pytest.raises(BadImage) as err:
        decode_image(data, max_pixels=bound)
    assert err.value.reason == "too large"


def test_at_the_bound_decodes() -> None:
    assert decode_image(solid_png(1, (100, 80)), max_pixels=8000).shape == (3, 80, 100)
    assert decode_image(jpeg(100, 80), max_pixels=8000).shape == (3, 80, 100)


@pytest.mark.parametrize("cache", [True, False])
def test_a_folder_skips_and_counts_too_large_images(
    tmp_path: Path, cache: bool, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(3):
        write(tmp_path / "a" / f"{i}.png", solid_png(i, (8, 8)))
    write(tmp_path / "a" / "huge.png", solid_png(9, (64, 64)))
    with caplog.at_level(logging.WARNING, logger="selfsup"):
        ds = build_dataset("folder", path=str(tmp_path), max_pixels=1000, cache=cache)
        items = [ds[i] for i in range(len(ds))]
        if not cache:
            ds.report_skips()
    kept = [it for it in items if it is not None]
    assert len(kept) == 3 and all(it["input"].shape == (3, 8, 8) for it in kept)
    assert "too large" in caplog.text
