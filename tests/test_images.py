"""samcompare.images: every upload mode becomes upright RGB uint8 with a note; bad files give ImageLoadError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from samcompare.images import LARGE_IMAGE_SIDE, MAX_PIXELS, ImageLoadError, downscale, load_image


def encode(image: Image.Image, format_name: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def gradient_rgb(width: int = 40, height: int = 30) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack([xx * 6 % 256, yy * 8 % 256, (xx + yy) % 256], axis=2).astype(np.uint8)


@pytest.mark.parametrize("format_name", ["PNG", "BMP", "TIFF", "WEBP"])
def test_lossless_formats_round_trip(format_name: str) -> None:
    pixels = gradient_rgb()
    options = {"lossless": True} if format_name == "WEBP" else {}
    loaded = load_image(encode(Image.fromarray(pixels), format_name, **options), f"x.{format_name.lower()}")
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape == (30, 40, 3)
    np.testing.assert_array_equal(loaded.pixels, pixels)
    assert loaded.notes == ()


def test_jpeg_reads_close() -> None:
    pixels = gradient_rgb()
    loaded = load_image(encode(Image.fromarray(pixels), "JPEG", quality=95), "x.jpg")
    assert loaded.pixels.shape == pixels.shape
    assert np.abs(loaded.pixels.astype(int) - pixels).mean() < 8


def test_exif_rotation_is_applied_and_noted() -> None:
    pixels = gradient_rgb(40, 30)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    loaded = load_image(encode(image, "JPEG", exif=exif, quality=95), "phone.jpg")
    assert loaded.pixels.shape == (40, 30, 3)
    assert loaded.original_size == (40, 30)
    assert any("EXIF" in note for note in loaded.notes)


@pytest.mark.parametrize(
    ("image", "word"),
    [
        (Image.fromarray(np.arange(1200, dtype=np.uint8).reshape(30, 40)), "greyscale"),
        (Image.fromarray(gradient_rgb()).convert("P"), "palette"),
        (Image.fromarray(np.dstack([gradient_rgb(), np.full((30, 40), 128, np.uint8)]), "RGBA"), "transparency"),
        (Image.fromarray(np.arange(1200, dtype=np.uint16).reshape(30, 40) * 50), "high bit depth"),
    ],
)
def test_conversions_to_rgb_are_noted(image: Image.Image, word: str) -> None:
    loaded = load_image(encode(image, "PNG"), "x.png")
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape == (30, 40, 3)
    assert any(word in note for note in loaded.notes), loaded.notes


def test_sixteen_bit_uses_the_whole_range() -> None:
    values = (np.arange(1200, dtype=np.uint16).reshape(30, 40) * 3 + 1000).astype(np.uint16)
    loaded = load_image(encode(Image.fromarray(values), "PNG"), "scan.png")
    assert loaded.pixels.min() == 0 and loaded.pixels.max() == 255


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image"),
        (encode(Image.fromarray(gradient_rgb()), "PNG")[:60], "corrupt"),
    ],
)
def test_bad_files_raise_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(ImageLoadError, match=message):
        load_image(data, "bad.png")


def test_missing_path(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "nothing.png")


def test_too_many_pixels_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("samcompare.images.MAX_PIXELS", 100)
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(encode(Image.fromarray(gradient_rgb()), "PNG"), "big.png")
    assert MAX_PIXELS > 100


def test_downscale_keeps_aspect_and_leaves_small_images_alone() -> None:
    big = np.zeros((LARGE_IMAGE_SIDE + 952, 1500, 3), np.uint8)  # 3000 x 1500
    small = downscale(big, 1024)
    assert small.shape == (1024, 512, 3)
    tiny = gradient_rgb()
    assert downscale(tiny, 1024) is tiny
    assert load_image(encode(Image.fromarray(big), "PNG")).is_large
