"""PNG encoding in one place: RGB stays RGB (OpenCV wants BGR), grey and 16-bit label maps stay exact."""

from __future__ import annotations

import cv2
import numpy as np


def png_bytes(array: np.ndarray) -> bytes:
    """PNG of an (H, W) uint8/uint16 image or an (H, W, 3) RGB uint8 image."""
    if array.ndim == 3:
        if array.shape[2] != 3 or array.dtype != np.uint8:
            raise ValueError(f"colour PNGs must be (H, W, 3) uint8 RGB, got {array.shape} {array.dtype}")
        array = cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGB2BGR)
    elif array.ndim != 2 or array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"single-channel PNGs must be (H, W) uint8 or uint16, got {array.shape} {array.dtype}")
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array))
    if not ok:
        raise ValueError("OpenCV could not encode the PNG")
    return encoded.tobytes()


def read_png(data: bytes) -> np.ndarray:
    """Inverse of `png_bytes`: (H, W) with its stored depth, or (H, W, 3) RGB."""
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise ValueError("not a readable PNG")
    if decoded.ndim == 3:
        return cv2.cvtColor(decoded[..., :3], cv2.COLOR_BGR2RGB)
    return decoded
