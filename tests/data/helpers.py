"""Helpers that make tiny image files for the data tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    """``image`` encoded as ``fmt`` (PNG, JPEG, TIFF ...)."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def solid_png(value: int, size: tuple[int, int] = (4, 4)) -> bytes:
    """A PNG whose every pixel is (value, 255 - value, 7): identifies a file by its pixels."""
    array = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    array[..., 0], array[..., 1], array[..., 2] = value, 255 - value, 7
    return encode(Image.fromarray(array), "PNG")


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def truncated_jpeg() -> bytes:
    rng = np.random.default_rng(0)
    data = encode(Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)), "JPEG")
    return data[: len(data) // 2]
