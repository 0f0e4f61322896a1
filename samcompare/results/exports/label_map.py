"""A 16-bit label map: 0 = background, i = the i-th exported mask (1-based).

Overlap rule: where masks overlap, the SMALLER mask wins (masks are painted largest first), so
small objects lying on large ones stay visible; between masks of equal area the later one in the
exported list wins. One PNG holds at most 65535 masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from samcompare.results.exports.png import png_bytes, read_png
from samcompare.results.masks import RunLike, as_run_masks

MAX_LABELS = np.iinfo(np.uint16).max


def label_map(
    run: RunLike, mask_ids: Sequence[int] | None = None, image_shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """(H, W) uint16 labels; label i + 1 is `mask_ids[i]` (all masks in record order when None)."""
    masks = as_run_masks(run, image_shape)
    exported = masks.check_ids(mask_ids)
    if len(exported) > MAX_LABELS:
        raise ValueError(f"a 16-bit label map holds at most {MAX_LABELS} masks, got {len(exported)}")
    areas = masks.areas()
    labels = np.zeros(masks.image_shape, dtype=np.uint16)
    # Largest first, equal areas in list order: later paint wins, so smaller (then later) masks end on top.
    order = sorted(range(len(exported)), key=lambda position: (-int(areas[exported[position]]), position))
    for position in order:
        labels[masks.mask(exported[position])] = position + 1
    return labels


def label_map_png_bytes(
    run: RunLike, mask_ids: Sequence[int] | None = None, image_shape: tuple[int, ...] | None = None
) -> bytes:
    return png_bytes(label_map(run, mask_ids, image_shape))


def write_label_map_png(
    path: str | Path, run: RunLike, mask_ids: Sequence[int] | None = None, image_shape: tuple[int, ...] | None = None
) -> Path:
    target = Path(path)
    target.write_bytes(label_map_png_bytes(run, mask_ids, image_shape))
    return target


def read_label_map_png(data: bytes) -> np.ndarray:
    """The (H, W) uint16 labels of a label-map PNG."""
    labels = read_png(data)
    if labels.ndim != 2:
        raise ValueError("a label map PNG has one channel")
    return labels.astype(np.uint16)
