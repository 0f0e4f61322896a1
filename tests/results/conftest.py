"""Synthetic runs for the results tests: official-format records built from exact scene masks, no model needed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
from segment_anything.utils.amg import area_from_rle, box_xyxy_to_xywh, coco_encode_rle, mask_to_rle_pytorch

from samcompare.config import AmgConfig
from samcompare.demo.shapes import generate_scene
from samcompare.engine.result import CacheUse, RunResult, StageTimings
from samcompare.engine.rle import encode_mask

OUTPUT_MODES = ("binary_mask", "uncompressed_rle", "coco_rle")


def mask_box_xyxy(mask: np.ndarray) -> list[int]:
    """SAM's box of a mask: inclusive max, as `batched_mask_to_box` gives it."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def records_from_masks(
    masks: Sequence[np.ndarray], output_mode: str = "binary_mask", seed: int = 0
) -> list[dict[str, Any]]:
    """Records exactly as `SamAutomaticMaskGenerator.generate` would return for these masks."""
    rng = np.random.default_rng(seed)
    if not masks:
        return []
    rles = mask_to_rle_pytorch(torch.as_tensor(np.stack(masks)))
    height, width = masks[0].shape
    records = []
    for mask, rle in zip(masks, rles, strict=True):
        if output_mode == "binary_mask":
            segmentation: Any = mask
        elif output_mode == "uncompressed_rle":
            segmentation = rle
        else:
            segmentation = coco_encode_rle(rle)
        ys, xs = np.nonzero(mask)
        point = [float(xs[len(xs) // 2]), float(ys[len(ys) // 2])]
        records.append(
            {
                "segmentation": segmentation,
                "area": area_from_rle(rle),
                "bbox": box_xyxy_to_xywh(torch.tensor(mask_box_xyxy(mask))).tolist(),
                "predicted_iou": float(rng.uniform(0.85, 1.02)),
                "point_coords": [point],
                "stability_score": float(rng.uniform(0.9, 1.0)),
                "crop_box": [0, 0, width, height],
            }
        )
    return records


def run_result_from_masks(masks: Sequence[np.ndarray], config: AmgConfig, total_seconds: float = 1.5) -> RunResult:
    """A `RunResult` as the engine builds it, from exact masks."""
    height, width = masks[0].shape
    n = len(masks)
    rng = np.random.default_rng(1)
    return RunResult(
        config=config,
        image_shape=(height, width),
        counts=tuple(encode_mask(mask) for mask in masks),
        boxes=np.array([mask_box_xyxy(mask) for mask in masks], dtype=np.int64).reshape(n, 4),
        predicted_ious=rng.uniform(0.85, 1.0, n).astype(np.float32),
        stability_scores=rng.uniform(0.9, 1.0, n).astype(np.float32),
        point_coords=np.array([[float(np.nonzero(m)[1][0]), float(np.nonzero(m)[0][0])] for m in masks]),
        crop_boxes=np.tile(np.array([0, 0, width, height], dtype=np.int64), (n, 1)),
        timings=StageTimings(0.5, 0.7, 0.2, 0.1, total_seconds),
        cache_use=CacheUse(1, 0, 2, 1),
    )


@pytest.fixture(scope="session")
def scene_image() -> np.ndarray:
    return generate_scene(np.random.default_rng(0), 96, 128).image


@pytest.fixture(scope="session")
def scene_masks() -> list[np.ndarray]:
    """The scene's objects, plus overlaps: the union of the two largest, and a small square on the largest."""
    scene = generate_scene(np.random.default_rng(0), 96, 128)
    masks = scene.object_masks()
    by_area = sorted(masks, key=lambda m: -int(m.sum()))
    square = np.zeros_like(masks[0])
    ys, xs = np.nonzero(by_area[0])
    cy, cx = int(np.median(ys)), int(np.median(xs))
    square[cy - 2 : cy + 3, cx - 2 : cx + 3] = True
    return [*masks, by_area[0] | by_area[1], square]


@pytest.fixture
def make_records() -> Callable[..., list[dict[str, Any]]]:
    return records_from_masks


@pytest.fixture
def make_run_result() -> Callable[..., RunResult]:
    return run_result_from_masks
