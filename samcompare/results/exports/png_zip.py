"""A ZIP for people without Python: one black-and-white PNG per mask, the overlay, and a CSV of the records.

Layout: `masks/mask_0003.png` (0 background, 255 mask; the number is the mask id, its record
index), `overlay.png` (the exported masks over the image) and `masks.csv` (the mask table plus
the `file` of each mask).
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from samcompare.results.exports.png import png_bytes, read_png
from samcompare.results.masks import RunLike, as_run_masks
from samcompare.results.pictures import OverlayOptions, as_rgb, overlay
from samcompare.results.stats import mask_table

MASK_FILE_PATTERN = re.compile(r"^masks/mask_(\d+)\.png$")


def mask_file_name(mask_id: int) -> str:
    return f"masks/mask_{mask_id:04d}.png"


def masks_zip_bytes(
    image: np.ndarray,
    run: RunLike,
    mask_ids: Sequence[int] | None = None,
    overlay_options: OverlayOptions | None = None,
) -> bytes:
    image_rgb = as_rgb(image)
    masks = as_run_masks(run, image_rgb.shape)
    exported = masks.check_ids(mask_ids)
    # The overlay shows the exported masks only.
    options = dataclasses.replace(overlay_options or OverlayOptions(), mask_ids=tuple(exported))
    table = mask_table(masks, exported)
    table["file"] = [mask_file_name(mask_id) for mask_id in exported]
    buffer = io.BytesIO()
    # PNGs are compressed already; deflating them again only costs time.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for mask_id, mask in masks.iter_masks(exported):
            archive.writestr(mask_file_name(mask_id), png_bytes(mask.astype(np.uint8) * 255))
        archive.writestr("overlay.png", png_bytes(overlay(image_rgb, masks, options)))
        archive.writestr("masks.csv", table.to_csv(index=False), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def write_masks_zip(
    path: str | Path,
    image: np.ndarray,
    run: RunLike,
    mask_ids: Sequence[int] | None = None,
    overlay_options: OverlayOptions | None = None,
) -> Path:
    target = Path(path)
    target.write_bytes(masks_zip_bytes(image, run, mask_ids, overlay_options))
    return target


def read_masks_zip(data: bytes) -> tuple[dict[int, np.ndarray], pd.DataFrame]:
    """The masks (by mask id, boolean) and the CSV table of a masks ZIP."""
    masks: dict[int, np.ndarray] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            match = MASK_FILE_PATTERN.match(name)
            if match:
                masks[int(match.group(1))] = read_png(archive.read(name)) > 127
        table = pd.read_csv(io.BytesIO(archive.read("masks.csv")))
    return masks, table
