"""Bytes -> ``uint8 [3, H, W]`` RGB tensor, for every image mode PIL can open.

Datasets only decode (augmentation happens later, batched on the device), so this is the one
place that turns odd files into plain RGB: grey, grey+alpha, palette (with transparency), CMYK,
16-bit, 32-bit integer and float images all come out as 8-bit RGB. Transparent pixels are
composited onto a white background. EXIF orientation is applied.

PIL does the decoding, except that grey or colour JPEGs decoded at their own size go through
torchvision's libjpeg binding first: the same pixels, about three times faster on CIFAR-sized
files, where PIL's Python-level header parsing dominates.

Decoding is forced to completion so a truncated file fails here, with a reason, instead of
silently yielding a half-grey image: ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` must stay False.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
import torchvision.io
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

BACKGROUND = (255, 255, 255)
"""Colour that transparent pixels are composited onto."""

BAD_IMAGE_REASONS = (
    "zero-byte",
    "truncated",
    "not an image",
    "unreadable",
    "too large",
    "not a regular file",
)

MAX_PIXELS = 64_000_000
"""Default bound on width x height: larger images (or forged headers) are skipped as "too
large" before their pixels are decoded (8000 x 8000 passes; a 10000 x 10000 PNG does not)."""

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
)
"""File extensions (lower case) treated as images when scanning folders."""


JPEG_MAGIC = b"\xff\xd8\xff"


class BadImage(Exception):
    """A file that cannot be decoded; ``reason`` is one of :data:`BAD_IMAGE_REASONS`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def decode_image(
    data: bytes, size: int | None = None, max_pixels: int = MAX_PIXELS
) -> torch.Tensor:
    """Decode encoded image bytes to an RGB ``uint8 [3, H, W]`` tensor.

    With ``size``, the shorter side is resized to ``size`` and the centre ``size x size``
    square is kept, so images of mixed sizes can be stacked. Images of more than
    ``max_pixels`` pixels are refused from their header. Raises :class:`BadImage`.
    """
    if size is not None and size < 1:
        raise ValueError(f"image size must be a positive int, got {size}")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True; truncated files would pass"
        )
    if not data:
        raise BadImage("zero-byte")
    if size is None and data[:3] == JPEG_MAGIC:
        dims = _jpeg_dimensions(data)
        if dims is not None and dims[0] * dims[1] <= max_pixels:
            fast = _decode_jpeg_fast(data)
            if fast is not None:
                return fast
    img = _open_fully(data, size, max_pixels)
    img = _to_rgb(img)
    if size is not None:
        img = _resize_centre_crop(img, size)
    array = np.array(img, dtype=np.uint8)  # [H, W, 3], a writable copy
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


# torchvision deprecated its decoders in 0.29; when they are gone every JPEG takes the PIL path.
_TORCHVISION_DECODE_JPEG = getattr(torchvision.io, "decode_jpeg", None)


def _decode_jpeg_fast(data: bytes) -> torch.Tensor | None:
    """Grey or colour JPEGs through torchvision's libjpeg binding: the same pixels as PIL, at
    about a third of the cost for small images (PIL parses headers in Python). Returns None
    for anything else (CMYK, errors), which then takes the PIL path and its error reasons."""
    if _TORCHVISION_DECODE_JPEG is None:
        return None
    try:
        encoded = torch.frombuffer(bytearray(data), dtype=torch.uint8)
        # The deprecation notice would repeat for every file; only this call's is silenced.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            image = _TORCHVISION_DECODE_JPEG(encoded, apply_exif_orientation=True)
    except RuntimeError:
        return None
    if image.shape[0] == 1:
        return image.expand(3, -1, -1).contiguous()
    return image if image.shape[0] == 3 else None


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame marker, without decoding; None if absent."""
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        pos += 2 + length
    return None


def _open_fully(data: bytes, size: int | None, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open and decode every pixel, mapping PIL's many failure types to a reason."""
    try:
        with warnings.catch_warnings():  # our own bound below replaces PIL's bomb warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        width, height = img.size
        if width * height > max_pixels:
            raise BadImage("too large", f"{width}x{height} pixels (bound: {max_pixels})")
        if size is not None:
            # JPEG only: let libjpeg decode at 1/2, 1/4 or 1/8 scale, never below ``size``.
            img.draft(None, (size, size))
        img.load()
        transposed = ImageOps.exif_transpose(img)
    except BadImage:
        raise
    except Image.DecompressionBombError as err:
        raise BadImage("too large", str(err)) from None
    except UnidentifiedImageError as err:
        raise BadImage("not an image", str(err)) from None
    except Exception as err:  # broken files raise anything from SyntaxError to struct.error
        raise BadImage(_failure_reason(err), f"{type(err).__name__}: {err}") from None
    return transposed if transposed is not None else img


def _failure_reason(err: Exception) -> str:
    if isinstance(err, EOFError) or (isinstance(err, OSError) and "truncat" in str(err).lower()):
        return "truncated"
    return "unreadable"


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB (alpha composited on :data:`BACKGROUND`)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I;16") or mode == "I":
        return _scaled_grey(np.asarray(img), integer=True)
    if mode == "F":
        return _scaled_grey(np.asarray(img), integer=False)
    if mode == "P" or mode == "PA":
        # Palette transparency lives in img.info; RGBA is the only lossless place to put it.
        has_alpha = mode == "PA" or "transparency" in img.info
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL nags about bytes-valued transparency
            img = img.convert("RGBA" if has_alpha else "RGB")
        return _composite(img) if has_alpha else img
    if mode in ("RGBA", "LA", "La", "RGBa") or (mode == "L" and "transparency" in img.info):
        return _composite(img.convert("RGBA"))
    return img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV, RGBX ...


def _composite(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGB", rgba.size, BACKGROUND)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _scaled_grey(values: np.ndarray, integer: bool) -> Image.Image:
    """Map a one-channel high-depth image to 8 bits by scaling, never by clipping.

    Integer images whose values fit 0..65535 are treated as 16-bit (``v / 257``, so 65535 ->
    255); float images within 0..1 are scaled by 255. Anything else is stretched from its own
    min..max, since it has no conventional range.
    """
    v = values.astype(np.float64)
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
    if integer and lo >= 0 and hi <= 65535:
        scaled = v / 257.0
    elif not integer and lo >= 0 and hi <= 1:
        scaled = v * 255.0
    elif hi > lo:
        scaled = (v - lo) * (255.0 / (hi - lo))
    else:
        scaled = np.zeros_like(v)
    grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(np.stack([grey] * 3, axis=-1)), "RGB")


def _resize_centre_crop(img: Image.Image, size: int) -> Image.Image:
    """Shorter side -> ``size``, centre crop ``size x size``, in one antialiased resample."""
    w, h = img.size
    if (w, h) == (size, size):
        return img
    side = min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    box = (left, top, left + side, top + side)
    return img.resize((size, size), Image.Resampling.BICUBIC, box=box)
