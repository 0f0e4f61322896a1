"""Masks as polygons that rasterise back to the mask: what COCO polygon and YOLO segmentation files hold.

Coordinates are COCO's: pixel (column x, row y) covers the square [x, x + 1] x [y, y + 1], so a
polygon through the pixel edges encloses exactly its pixels (pycocotools samples each pixel near
its centre). OpenCV's `findContours` gives the outlines and which are holes (`RETR_CCOMP`); it
traces pixel centres, half a pixel inside the mask's edge, so it runs on the grid of pixel corners
of the mask doubled: the contour of the corners touching the mask follows the pixel edges exactly,
once each diagonal short-cut the tracing takes across a corner is put back on the edges.

Each outline then becomes the polygon through the midpoints of its pixel edges (what marching squares
gives: straight where the mask is straight, cut at 45 degrees on a staircase) and is simplified by
Douglas-Peucker (`cv2.approxPolyDP`) within `tolerance` pixels. Where that would leave a polygon
whose rasterisation has IoU below `MIN_IOU` with the mask (small or ragged masks), the tolerance is
halved for that mask until it does; at tolerance 0 the polygon rasterises to the mask exactly.

Holes: COCO polygon readers (pycocotools' `annToMask`, CVAT, Label Studio) fill every polygon of an
annotation and take their union, so a hole written as a ring of its own comes back filled. By
default (`HOLES_BRIDGED`) each hole is joined to its outer ring by a zero-width cut, so each part of
the mask is one polygon with its holes, and every reader gets the holes back. `HOLES_AS_RINGS`
writes holes as separate rings instead, for readers that apply the even-odd rule to all rings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from samcompare.results.masks import decode_mask

DEFAULT_TOLERANCE = 1.0
MIN_IOU = 0.98
HoleStyle = Literal["bridge", "rings"]
HOLES_BRIDGED: HoleStyle = "bridge"
HOLES_AS_RINGS: HoleStyle = "rings"
HOLE_STYLES: tuple[HoleStyle, ...] = ("bridge", "rings")
_SMALLEST_TOLERANCE = 0.05  # below this, simplify no more: the exact polygon


@dataclass(frozen=True)
class Ring:
    """One closed outline in COCO coordinates: (N, 2) float64 x, y; a hole or an outer boundary."""

    points: np.ndarray
    is_hole: bool
    parent: int  # index of the outer ring a hole belongs to; -1 for outer rings


def _edge_sides(starts: np.ndarray, ends: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For unit edges starts -> ends on the pixel-corner grid: is the pixel on the left / right in the mask."""
    height, width = inside.shape
    middle = (starts + ends) / 2.0
    step = ends - starts
    normal = np.stack([-step[:, 1], step[:, 0]], axis=1).astype(np.float64)

    def pixel_in(points: np.ndarray) -> np.ndarray:
        x = np.floor(points[:, 0]).astype(np.int64)
        y = np.floor(points[:, 1]).astype(np.int64)
        valid = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        result = np.zeros(len(points), dtype=bool)
        result[valid] = inside[y[valid], x[valid]]
        return result

    return pixel_in(middle + 0.5 * normal), pixel_in(middle - 0.5 * normal)


def _on_edges(contour: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The contour (unit or diagonal steps between pixel corners) as a path along pixel edges only."""
    ends = np.roll(contour, -1, axis=0)
    diagonal = np.abs(ends - contour).sum(axis=1) == 2
    if not diagonal.any():
        return contour
    starts_d, ends_d = contour[diagonal], ends[diagonal]
    chosen = np.zeros_like(starts_d)
    found = np.zeros(len(starts_d), dtype=bool)
    # Of the two corners between, the one whose two edges both have the mask on the same side.
    for corner in (np.stack([ends_d[:, 0], starts_d[:, 1]], 1), np.stack([starts_d[:, 0], ends_d[:, 1]], 1)):
        left_a, right_a = _edge_sides(starts_d, corner, inside)
        left_b, right_b = _edge_sides(corner, ends_d, inside)
        good = (left_a != right_a) & (left_a == left_b) & (right_a == right_b) & ~found
        chosen[good] = corner[good]
        found |= good
    if not found.all():
        raise AssertionError("a contour step that no pixel edge pair can follow")
    inserted = np.zeros((len(contour) + len(starts_d), 2), dtype=contour.dtype)
    positions = np.arange(len(contour)) + np.concatenate([[0], np.cumsum(diagonal)[:-1]])
    inserted[positions] = contour
    inserted[positions[diagonal] + 1] = chosen
    return inserted


def mask_rings(mask: np.ndarray) -> list[Ring]:
    """The exact pixel-edge outlines of a boolean mask (outer boundaries and holes), in COCO coordinates."""
    mask = np.asarray(mask, dtype=bool)
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return []
    x0, y0 = int(xs.min()), int(ys.min())
    crop = mask[y0 : int(ys.max()) + 1, x0 : int(xs.max()) + 1]
    doubled = np.kron(crop.astype(np.uint8), np.ones((2, 2), dtype=np.uint8))
    padded = np.pad(doubled, 1)
    corners = padded[:-1, :-1] | padded[:-1, 1:] | padded[1:, :-1] | padded[1:, 1:]  # corner (x, y) touches mask
    contours, hierarchy = cv2.findContours(np.pad(corners, 1), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    inside = doubled.astype(bool)
    rings: list[Ring] = []
    index_of: dict[int, int] = {}
    order = sorted(range(len(contours)), key=lambda i: int(hierarchy[0][i][3]) >= 0)  # outer rings first
    for i in order:
        contour = contours[i].reshape(-1, 2).astype(np.int64) - 1
        path = _on_edges(contour, inside) / 2.0
        path = path[np.all(path == np.round(path), axis=1)]  # the corners of the original pixels
        parent = int(hierarchy[0][i][3])
        index_of[i] = len(rings)
        points = path + np.array([x0, y0], dtype=np.float64)
        rings.append(Ring(points, parent >= 0, index_of[parent] if parent >= 0 else -1))
    return rings


def _midpoints(points: np.ndarray) -> np.ndarray:
    return (points + np.roll(points, -1, axis=0)) / 2.0


def _simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    if tolerance <= 0 or len(points) <= 3:
        return points
    simplified = cv2.approxPolyDP(points.astype(np.float32).reshape(-1, 1, 2), float(tolerance), True)
    result = simplified.reshape(-1, 2).astype(np.float64)
    # approxPolyDP returns a subset of the input points: take them from the float64 input, exactly.
    return result if len(result) >= 3 else points


def _bridge(outer: np.ndarray, holes: list[np.ndarray]) -> np.ndarray:
    """One polygon: `outer` with each hole joined by a zero-width cut from its nearest vertex."""
    from scipy.spatial import cKDTree

    polygon = outer
    for hole in sorted(holes, key=lambda h: float(h[:, 0].min())):
        distances, nearest = cKDTree(polygon).query(hole)  # memory ~ the points, not their product
        j = int(np.argmin(distances))
        i = int(nearest[j])
        hole_from_j = np.concatenate([hole[j:], hole[: j + 1]])
        polygon = np.concatenate([polygon[: i + 1], hole_from_j, polygon[i:]])
    return polygon


def _oriented(points: np.ndarray, clockwise: bool) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    area = 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))  # > 0: clockwise with y down
    return points if (area > 0) == clockwise else points[::-1]


def rings_to_polygons(rings: list[Ring], tolerance: float, holes: HoleStyle = HOLES_BRIDGED) -> list[np.ndarray]:
    """Simplified polygons of a mask's rings: one per part with its holes bridged in, or one per ring."""
    simplified = [_simplify(_midpoints(ring.points), tolerance) for ring in rings]
    if holes == HOLES_AS_RINGS:
        return [_oriented(points, not ring.is_hole) for points, ring in zip(simplified, rings, strict=True)]
    polygons = []
    for index, ring in enumerate(rings):
        if ring.is_hole:
            continue
        own_holes = [_oriented(simplified[k], False) for k, other in enumerate(rings) if other.parent == index]
        polygons.append(_bridge(_oriented(simplified[index], True), own_holes))
    return polygons


def rasterise(polygons: list[np.ndarray], image_size: tuple[int, int], holes: HoleStyle = HOLES_BRIDGED) -> np.ndarray:
    """The mask pycocotools makes of these polygons: their union, or (rings) the even-odd rule over all rings."""
    height, width = image_size
    result = np.zeros((height, width), dtype=bool)
    if not polygons:
        return result
    rles = mask_utils.frPyObjects([p.reshape(-1).tolist() for p in polygons], height, width)
    for rle in rles:
        decoded = decode_mask(rle)
        if holes == HOLES_AS_RINGS:
            result ^= decoded
        else:
            result |= decoded
    return result


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int(np.logical_or(a, b).sum())
    return 1.0 if union == 0 else int(np.logical_and(a, b).sum()) / union


@dataclass(frozen=True)
class MaskPolygons:
    """A mask's polygons, the tolerance they were simplified with, and their IoU with the mask."""

    polygons: tuple[np.ndarray, ...]
    tolerance: float
    iou: float


def mask_polygons(
    mask: np.ndarray,
    tolerance: float = DEFAULT_TOLERANCE,
    holes: HoleStyle = HOLES_BRIDGED,
    min_iou: float = MIN_IOU,
    single: bool = False,
) -> MaskPolygons:
    """Polygons of `mask` within `tolerance` px, tightened for this mask until they rasterise to IoU >= `min_iou`.

    `single`: one polygon for the whole mask, its parts joined (`merge_parts`), as YOLO has it.
    """
    if tolerance < 0:
        raise ValueError(f"the polygon tolerance must be at least 0 px, got {tolerance}")
    if holes not in HOLE_STYLES:
        raise ValueError(f"holes must be one of {', '.join(HOLE_STYLES)}, got {holes!r}")
    if single and holes != HOLES_BRIDGED:
        raise ValueError("one polygon per mask needs its holes bridged")
    mask = np.asarray(mask, dtype=bool)
    rings = mask_rings(mask)
    if not rings:
        return MaskPolygons((), float(tolerance), 1.0)
    size = (int(mask.shape[0]), int(mask.shape[1]))
    current = float(tolerance)
    while True:
        polygons = rings_to_polygons(rings, current, holes)
        if single:
            polygons = [merge_parts(polygons)]
        score = iou(rasterise(polygons, size, holes), mask)
        if score >= min_iou or current == 0.0:
            return MaskPolygons(tuple(polygons), current, score)
        current = current / 2 if current / 2 >= _SMALLEST_TOLERANCE else 0.0


def merge_parts(polygons: list[np.ndarray]) -> np.ndarray:
    """One polygon from several (a mask in parts), each joined to the next at their closest points.

    YOLO segmentation has one polygon per object; ultralytics' own COCO converter
    (`merge_multi_segment`) joins the parts of a COCO annotation the same way. The cuts have zero width.
    """
    if len(polygons) == 1:
        return polygons[0]
    merged = polygons[0]
    for part in polygons[1:]:
        merged = _bridge(merged, [part])
    return merged
