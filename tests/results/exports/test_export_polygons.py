"""Masks as polygons: exact at tolerance 0, IoU >= 0.98 rasterised back at the default tolerance, holes kept.

`MASK_SETS` names sets of masks of different kinds; every polygon test runs on each. Add a set (a
real SAM's masks on a photo, say) by adding a function returning a list of boolean masks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndimage
from pycocotools import mask as mask_utils

from samcompare.demo.shapes import generate_scene
from samcompare.results.exports.polygons import (
    DEFAULT_TOLERANCE,
    HOLES_AS_RINGS,
    HOLES_BRIDGED,
    MIN_IOU,
    iou,
    mask_polygons,
    mask_rings,
    merge_parts,
    rasterise,
    rings_to_polygons,
)
from samcompare.results.masks import decode_mask


@cache
def shape_masks() -> tuple[np.ndarray, ...]:
    """The exact objects of synthetic shape scenes (occluded shapes, so some have notches and parts)."""
    masks: list[np.ndarray] = []
    for seed in range(4):
        masks += generate_scene(np.random.default_rng(seed), 192, 256).object_masks()
    return tuple(masks)


@cache
def photo_masks() -> tuple[np.ndarray, ...]:
    """Regions of a real photo (scikit-image's coins): ragged natural edges, holes, many parts."""
    import skimage.data
    import skimage.filters
    import skimage.measure

    coins = skimage.data.coins()
    foreground = coins > skimage.filters.threshold_otsu(coins)
    labels = skimage.measure.label(foreground)
    regions = [labels == i for i in range(1, labels.max() + 1) if (labels == i).sum() >= 30]
    return (*regions, foreground, ~foreground)


@cache
def generator_masks() -> tuple[np.ndarray, ...]:
    """Masks the official generator returns with the demo SAM on a held-out scene (random weights: blobs)."""
    import torch
    from segment_anything import SamAutomaticMaskGenerator

    from samcompare.demo.architecture import build_demo_sam
    from samcompare.samples import load_sample

    checkpoint = Path(__file__).resolve().parents[3] / "samcompare" / "demo" / "assets" / "sam_demo.pth"
    model = build_demo_sam()
    if checkpoint.exists():
        model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    model.eval()
    image = load_sample("Shapes 05")
    generator = SamAutomaticMaskGenerator(model, points_per_side=8, pred_iou_thresh=0.5, stability_score_thresh=0.5)
    with torch.inference_mode():
        records = generator.generate(image)
    return tuple(record["segmentation"] for record in records)


MASK_SETS: dict[str, Callable[[], tuple[np.ndarray, ...]]] = {
    "shapes": shape_masks,
    "photo": photo_masks,
    "generator": generator_masks,
}


def noise_masks(count: int = 150, seed: int = 0) -> list[np.ndarray]:
    """Random masks at their most awkward: one-pixel holes, diagonal touches, parts in holes, image edges."""
    rng = np.random.default_rng(seed)
    masks = []
    for index in range(count):
        height, width = (int(v) for v in rng.integers(3, 40, 2))
        mask = rng.random((height, width)) < rng.uniform(0.15, 0.8)
        if index % 3 == 1:
            mask = ndimage.binary_opening(mask)
        if index % 3 == 2:
            mask = ndimage.binary_closing(mask)
        if mask.any():
            masks.append(mask)
    return masks


@pytest.mark.parametrize("holes", [HOLES_BRIDGED, HOLES_AS_RINGS])
def test_polygons_at_tolerance_zero_rasterise_to_the_mask_exactly(holes):
    for mask in noise_masks():
        polygons = rings_to_polygons(mask_rings(mask), 0.0, holes)
        np.testing.assert_array_equal(rasterise(polygons, mask.shape, holes), mask)
        if holes == HOLES_BRIDGED:  # one polygon per mask, as YOLO has it, is exact too
            np.testing.assert_array_equal(rasterise([merge_parts(polygons)], mask.shape), mask)


def assert_polygons_fit(masks: tuple[np.ndarray, ...] | list[np.ndarray]) -> None:
    """At the default tolerance, every mask's polygons rasterised by pycocotools have IoU >= 0.98 with it."""
    assert len(masks) > 0
    for index, mask in enumerate(masks):
        mask = np.asarray(mask, dtype=bool)
        for single in (False, True):
            shapes = mask_polygons(mask, DEFAULT_TOLERANCE, single=single)
            assert shapes.tolerance <= DEFAULT_TOLERANCE
            # Rasterised as COCO readers do: pycocotools, each polygon filled, their union.
            rles = mask_utils.frPyObjects([p.reshape(-1).tolist() for p in shapes.polygons], *mask.shape)
            back = decode_mask(mask_utils.merge(rles))
            assert iou(back, mask) >= MIN_IOU, f"mask {index} ({int(mask.sum())} px), single={single}"
            assert all(len(p) >= 3 for p in shapes.polygons)


@pytest.mark.parametrize("kind", list(MASK_SETS))
def test_polygons_have_iou_at_least_098_at_the_default_tolerance(kind):
    assert_polygons_fit(MASK_SETS[kind]())


def test_the_default_tolerance_simplifies():
    """Large smooth masks keep the default tolerance and need far fewer points than their exact outline."""
    import cv2

    masks = []
    for angle in (0, 20, 45):
        canvas = np.zeros((200, 240), np.uint8)
        cv2.ellipse(canvas, (120, 100), (90, 60), angle, 0, 360, 1, -1)
        cv2.fillPoly(canvas, [np.array([[10, 190], [60, 120], [110, 190]], np.int32)], 1)
        masks.append(canvas.astype(bool))
    for mask in masks:
        simplified = mask_polygons(mask)
        exact = mask_polygons(mask, 0.0)
        assert simplified.tolerance == DEFAULT_TOLERANCE
        assert sum(len(p) for p in simplified.polygons) * 3 < sum(len(p) for p in exact.polygons)
        assert exact.iou == 1.0


def test_holes_come_back_through_pycocotools_when_bridged_and_filled_when_rings():
    yy, xx = np.mgrid[:80, :90]
    donut = ((xx - 45) ** 2 + (yy - 40) ** 2 < 35**2) & ((xx - 45) ** 2 + (yy - 40) ** 2 >= 12**2)
    island = (xx - 45) ** 2 + (yy - 40) ** 2 < 5**2  # a part inside the hole
    mask = donut | island
    bridged = mask_polygons(mask, holes=HOLES_BRIDGED)
    assert len(bridged.polygons) == 2  # the ring with its hole, and the island
    union = decode_mask(
        mask_utils.merge(mask_utils.frPyObjects([p.reshape(-1).tolist() for p in bridged.polygons], 80, 90))
    )
    assert iou(union, mask) >= MIN_IOU and not union[40, 55]  # the hole stays a hole
    rings = mask_polygons(mask, holes=HOLES_AS_RINGS)
    assert len(rings.polygons) == 3
    filled = decode_mask(
        mask_utils.merge(mask_utils.frPyObjects([p.reshape(-1).tolist() for p in rings.polygons], 80, 90))
    )
    assert filled[40, 55]  # a union-reading tool fills a hole written as a ring
    assert iou(rasterise(list(rings.polygons), (80, 90), HOLES_AS_RINGS), mask) >= MIN_IOU  # even-odd gets it


def test_empty_mask_has_no_polygon_and_bad_arguments_are_refused():
    assert mask_polygons(np.zeros((5, 5), bool)).polygons == ()
    with pytest.raises(ValueError, match="tolerance"):
        mask_polygons(np.ones((5, 5), bool), -1.0)
    with pytest.raises(ValueError, match="holes"):
        mask_polygons(np.ones((5, 5), bool), holes="xor")  # type: ignore[arg-type]
