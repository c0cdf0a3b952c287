"""decode_image: every odd PIL mode becomes RGB uint8; bad bytes raise BadImage with a reason."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image, ImageFile

from selfsup.data.decode import BACKGROUND, BadImage, decode_image

from .helpers import encode, truncated_jpeg

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")


def pil_rgb(data: bytes) -> np.ndarray:
    """Reference: PIL's own RGB conversion as an [H, W, 3] array."""
    import io

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def as_hwc(t: torch.Tensor) -> np.ndarray:
    assert t.dtype == torch.uint8 and t.dim() == 3 and t.shape[0] == 3
    return t.permute(1, 2, 0).numpy()


def over_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None].astype(np.float64) / 255.0
    return colour.astype(np.float64) * a + np.array(BACKGROUND) * (1 - a)


def test_rgb_png_round_trips_exactly() -> None:
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    out = decode_image(encode(Image.fromarray(array), "PNG"))
    assert out.shape == (3, 5, 7)
    np.testing.assert_array_equal(as_hwc(out), array)


def test_grey_is_replicated_to_three_channels() -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = as_hwc(decode_image(encode(Image.fromarray(grey, "L"), "PNG")))
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], grey)


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_is_composited_on_the_background(mode: str) -> None:
    colour = np.array([[[200, 10, 60], [30, 90, 250], [120, 120, 0]]], dtype=np.uint8)
    alpha = np.array([[0, 128, 255]], dtype=np.uint8)
    if mode == "LA":
        colour = np.repeat(colour[..., :1], 3, axis=-1)
        pixels = np.dstack([colour[..., 0], alpha])
    else:
        pixels = np.dstack([colour, alpha])
    out = as_hwc(decode_image(encode(Image.fromarray(pixels, mode), "PNG")))
    np.testing.assert_allclose(out, over_white(colour, alpha), atol=1)
    np.testing.assert_array_equal(out[0, 0], BACKGROUND)  # fully transparent
    np.testing.assert_array_equal(out[0, 2], colour[0, 2])  # opaque


def test_palette_transparency_becomes_background() -> None:
    image = Image.new("P", (3, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)  # index 0 red, 1 blue
    image.putdata([0, 1, 0])
    out = as_hwc(decode_image(encode(image, "PNG", transparency=0)))
    np.testing.assert_array_equal(out[0], [BACKGROUND, (0, 0, 255), BACKGROUND])
    opaque = as_hwc(decode_image(encode(image, "PNG")))
    np.testing.assert_array_equal(opaque[0], [(255, 0, 0), (0, 0, 255), (255, 0, 0)])


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_16_bit_is_scaled_not_clipped(mode: str) -> None:
    values = np.array([[0, 300, 40000, 65535]])
    if mode == "I;16":
        data = encode(Image.fromarray(values.astype(np.uint16)), "PNG")
    else:
        data = encode(Image.fromarray(values.astype(np.int32), "I"), "TIFF")
    expected = np.rint(values / 65535 * 255).astype(np.uint8)  # 300 -> 1, 40000 -> 156
    out = as_hwc(decode_image(data))
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], expected)


def test_float_in_unit_range_is_scaled_by_255() -> None:
    values = np.array([[0.0, 0.25, 0.5, 1.0]], dtype=np.float32)
    out = as_hwc(decode_image(encode(Image.fromarray(values, "F"), "TIFF")))
    np.testing.assert_array_equal(out[..., 1], np.rint(values * 255).astype(np.uint8))


def test_cmyk_converts_to_rgb() -> None:
    c, m, y, k = 10, 200, 50, 30
    out = as_hwc(decode_image(encode(Image.new("CMYK", (2, 2), (c, m, y, k)), "TIFF")))
    expected = [(255 - v) * (255 - k) / 255 for v in (c, m, y)]
    np.testing.assert_allclose(out[0, 0], expected, atol=1)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_jpeg_pixels_match_pil(mode: str) -> None:
    rng = np.random.default_rng(2)
    shape = (20, 24, 3) if mode == "RGB" else (20, 24)
    array = rng.integers(0, 256, shape, dtype=np.uint8)
    data = encode(Image.fromarray(array, mode), "JPEG", quality=80)
    np.testing.assert_array_equal(as_hwc(decode_image(data)), pil_rgb(data))


@pytest.mark.parametrize("size", [None, 6])
def test_exif_orientation_is_applied(size: int | None) -> None:
    array = np.zeros((6, 12, 3), dtype=np.uint8)  # wide, bright left half
    array[:, :6] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = decode_image(encode(Image.fromarray(array), "JPEG", exif=exif.tobytes()), size)
    if size is None:
        assert out.shape == (3, 12, 6)  # now tall
        assert out[:, :4].float().mean() > 200 and out[:, -4:].float().mean() < 50  # left -> top
    else:
        assert out.shape == (3, 6, 6)


def test_size_resizes_shorter_side_and_centre_crops() -> None:
    yy, xx = np.mgrid[0:30, 0:60]
    array = np.dstack([xx * 4, yy * 8, (xx + yy) * 2]).astype(np.uint8)  # smooth ramps
    image = Image.fromarray(array)
    out = decode_image(encode(image, "PNG"), size=10)
    assert out.shape == (3, 10, 10)
    # Reference: torchvision's resize-then-centre-crop (integer crop offsets, so allow 2 levels).
    reference = np.asarray(
        TF.center_crop(TF.resize(image, 10, TF.InterpolationMode.BICUBIC), [10, 10])
    )
    np.testing.assert_allclose(as_hwc(out).astype(int), reference.astype(int), atol=2)


def test_size_on_a_jpeg_uses_the_same_geometry() -> None:
    yy, xx = np.mgrid[0:64, 0:96]
    array = np.dstack([xx * 2, yy * 3, xx + yy]).astype(np.uint8)
    data = encode(Image.fromarray(array), "JPEG", quality=95)
    out = decode_image(data, size=16)
    reference = np.asarray(TF.center_crop(TF.resize(Image.fromarray(pil_rgb(data)), 16), [16, 16]))
    np.testing.assert_allclose(as_hwc(out).astype(int), reference.astype(int), atol=6)


def bad_png() -> bytes:
    rng = np.random.default_rng(3)
    data = bytearray(encode(Image.fromarray(rng.integers(0, 256, (32, 32, 3), np.uint8)), "PNG"))
    data[100:200] = bytes(b ^ 0xFF for b in data[100:200])  # scramble compressed pixel data
    return bytes(data)


def truncated_png() -> bytes:
    rng = np.random.default_rng(4)
    data = encode(Image.fromarray(rng.integers(0, 256, (32, 32, 3), np.uint8)), "PNG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "zero-byte"),
        (truncated_jpeg(), "truncated"),
        (truncated_png(), "truncated"),
        (b"hello, I am a text file\n", "not an image"),
        (bad_png(), "unreadable"),
    ],
    ids=["empty", "truncated-jpeg", "truncated-png", "text", "scrambled-png"],
)
def test_bad_bytes_raise_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(BadImage) as caught:
        decode_image(data)
    assert caught.value.reason == reason


def test_load_truncated_images_must_stay_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode_image(truncated_jpeg())


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        decode_image(encode(Image.new("RGB", (4, 4)), "PNG"), size=0)
