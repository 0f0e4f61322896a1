"""Read an image file (or uploaded bytes) into the RGB uint8 array the engine takes, saying what was changed.

Uploads come in every mode PIL knows: grey, 16-bit, palette, RGBA, CMYK, with EXIF rotation. SAM
wants upright RGB uint8, so each is converted, and every conversion is reported as a note the UI
can show, so nobody is surprised that their 16-bit scan became 8-bit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Formats we promise to read (PIL reads more; the uploader offers these).
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp")
# Refuse to decode anything larger: 100 megapixels of RGB is 300 MB before SAM has even started.
MAX_PIXELS = 100_000_000
# Beyond this longest side the engine's masks get heavy (one bit per pixel per mask, several
# copies while filtering) and SAM sees the image at 1024 px anyway, so the UI offers to downscale.
LARGE_IMAGE_SIDE = 2048
DEFAULT_DOWNSCALE_SIDE = 1024


class ImageLoadError(ValueError):
    """The file is not an image we can read; the message says why in words a user understands."""


@dataclass(frozen=True)
class LoadedImage:
    """An upright RGB uint8 image and what was done to get it there."""

    name: str
    pixels: np.ndarray = field(repr=False)  # (H, W, 3) uint8 RGB
    original_size: tuple[int, int]  # (width, height) as stored in the file, before EXIF rotation
    notes: tuple[str, ...] = ()

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_large(self) -> bool:
        return max(self.height, self.width) > LARGE_IMAGE_SIDE


def _to_rgb_uint8(image: object, notes: list[str]) -> np.ndarray:
    from PIL import Image

    assert isinstance(image, Image.Image)
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image, dtype=np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # High bit depth grey: stretch the used range to 0..255 rather than clip (a 12-bit scan would be black).
        values = np.asarray(image, dtype=np.float64)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        scaled = np.zeros_like(values) if high <= low else (values - low) / (high - low) * 255.0
        grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        notes.append(f"{mode} (high bit depth) image scaled from {low:g}..{high:g} to 8-bit and made RGB")
        return np.repeat(grey[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        # Transparent pixels go on white, as image viewers show them.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        notes.append("transparency flattened onto white")
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8)
    descriptions = {
        "L": "greyscale image made RGB",
        "1": "black-and-white image made RGB",
        "P": "palette image made RGB",
        "CMYK": "CMYK image converted to RGB",
        "YCbCr": "YCbCr image converted to RGB",
        "LAB": "Lab image converted to RGB",
        "HSV": "HSV image converted to RGB",
    }
    notes.append(descriptions.get(mode, f"{mode} image converted to RGB"))
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def read_source(
    source: bytes | str | Path, name: str | None, default_label: str, error_type: type[ValueError]
) -> tuple[bytes, str]:
    """The bytes of a file path or of bytes given, and the label messages name it by.

    A missing, unreadable or empty file raises `error_type` with one line that names it.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        label = name or path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise error_type(f"{label}: file not found") from None
        except OSError as error:
            raise error_type(f"{label}: cannot read the file ({error.strerror or error})") from None
    else:
        data = bytes(source)
        label = name or default_label
    if not data:
        raise error_type(f"{label}: the file is empty")
    return data, label


def load_image(source: bytes | str | Path, name: str | None = None) -> LoadedImage:
    """Decode `source` (file bytes or a path) to upright RGB uint8, with notes on every conversion.

    Raises `ImageLoadError` for files that are missing, corrupt, not images, or too large to decode.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    data, label = read_source(source, name, "image", ImageLoadError)
    notes: list[str] = []
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise ImageLoadError(
                    f"{label}: {width} × {height} pixels is too large (more than {MAX_PIXELS // 1_000_000} "
                    "megapixels); shrink it before uploading"
                )
            frames = int(getattr(opened, "n_frames", 1))
            if frames > 1:
                notes.append(f"the file holds {frames} frames; the first is used")
            orientation = int(opened.getexif().get(0x0112, 1) or 1)
            upright = ImageOps.exif_transpose(opened) or opened
            if orientation != 1:
                notes.append(f"turned upright by its EXIF orientation tag ({orientation})")
            upright.load()
            pixels = _to_rgb_uint8(upright, notes)
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(
            f"{label}: not an image file that can be read (expected {', '.join(e.upper() for e in IMAGE_EXTENSIONS)})"
        ) from None
    except Image.DecompressionBombError:
        raise ImageLoadError(f"{label}: the image is too large to decode safely; shrink it before uploading") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise ImageLoadError(f"{label}: the file is truncated or corrupt ({error})") from None
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ImageLoadError(f"{label}: decoded to an unusable shape {pixels.shape}")
    return LoadedImage(label, np.ascontiguousarray(pixels), (width, height), tuple(notes))


def downscale(pixels: np.ndarray, max_side: int = DEFAULT_DOWNSCALE_SIDE) -> np.ndarray:
    """`pixels` shrunk (area interpolation, aspect kept) so its longest side is at most `max_side`."""
    import cv2

    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    height, width = pixels.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))
