"""COCO JSON with polygons: what annotation tools (CVAT, Label Studio) import as editable shapes.

The same document as `coco.py` (categories from the class names, `score`, SAM's numbers), with each
mask's `segmentation` a list of polygons `[[x1, y1, x2, y2, ...], ...]` in COCO's pixel-edge
coordinates, from OpenCV's contours (`polygons.py`): one polygon per part of the mask, its holes
joined to it by zero-width cuts so that every reader gets them back (or, with `holes="rings"`,
each hole a ring of its own). Simplified within `tolerance` pixels; each polygon rasterised back
by pycocotools has IoU >= 0.98 with its mask. `info.polygon_tolerance`, `info.polygon_holes` and
`info.polygon_min_iou` say how the file was made. An empty mask has no polygon and no annotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from samcompare.results.exports.coco import coco_document, json_bytes
from samcompare.results.exports.polygons import (
    DEFAULT_TOLERANCE,
    HOLES_BRIDGED,
    MIN_IOU,
    HoleStyle,
    mask_polygons,
)
from samcompare.results.labels import MaskLabels
from samcompare.results.masks import RunLike, RunMasks


def polygon_segmentation(masks: RunMasks, mask_id: int, tolerance: float, holes: HoleStyle) -> list[list[float]] | None:
    shapes = mask_polygons(masks.mask(mask_id), tolerance, holes)
    if not shapes.polygons:
        return None
    return [[float(v) for v in polygon.reshape(-1)] for polygon in shapes.polygons]


def coco_polygons_dict(
    run: RunLike,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
    labels: MaskLabels | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    holes: HoleStyle = HOLES_BRIDGED,
) -> dict[str, Any]:
    segmentation = partial(polygon_segmentation, tolerance=tolerance, holes=holes)
    info = {"polygon_tolerance": float(tolerance), "polygon_holes": holes, "polygon_min_iou": MIN_IOU}
    return coco_document(run, segmentation, image_shape, file_name, mask_ids, image_id, labels, info)


def coco_polygons_json_bytes(
    run: RunLike,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
    labels: MaskLabels | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    holes: HoleStyle = HOLES_BRIDGED,
) -> bytes:
    return json_bytes(coco_polygons_dict(run, image_shape, file_name, mask_ids, image_id, labels, tolerance, holes))


def write_coco_polygons_json(
    path: str | Path,
    run: RunLike,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
    labels: MaskLabels | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    holes: HoleStyle = HOLES_BRIDGED,
) -> Path:
    target = Path(path)
    target.write_bytes(
        coco_polygons_json_bytes(run, image_shape, file_name, mask_ids, image_id, labels, tolerance, holes)
    )
    return target
