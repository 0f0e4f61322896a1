"""Filters beyond `SamAutomaticMaskGenerator`, applied to its output: a maximum area, no border masks, top k.

Users of the official generator ask for them (a maximum area to drop the background: segment-anything
#309 / PR#310, never merged; keeping the best k masks; dropping masks cut by the image border). They
run after every official stage, on the official output, in `POST_FILTER_PARAMETERS` order:

- `max_mask_region_area`: drop masks whose area is above the limit (pixels, or a percentage of the
  image's area); the area is the record's own `area`, after the small-region clean-up.
- `drop_border_masks`: drop masks with a pixel in the image's first or last row or column (from the
  record's box, whose right and bottom edges are the mask's last column and row).
- `top_k`: keep the k masks of highest `predicted_iou` among those left (ties: the earlier in the
  output), in the output's order.

The engine applies them to its result (`select`); `apply_to_records` applies the very same rule to
the official generator's records, so the engine's masks equal the official output filtered afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from samcompare.config import AmgConfig

MAX_AREA = "max_mask_region_area"
BORDER = "drop_border_masks"
TOP_K = "top_k"
STAGES = (MAX_AREA, BORDER, TOP_K)


@dataclass(frozen=True, eq=False)
class PostFilterTrace:
    """What the post-filters did to the official output's masks (indices refer to that output)."""

    stages: tuple[str, ...]  # the active stages, in order
    dropped_by: np.ndarray  # (M,) int8: index into STAGES of the stage that dropped the mask, -1 when kept
    keep: np.ndarray  # (K,) int64 kept masks, in the output's order
    max_area_px: float | None  # the area limit in pixels on this image
    rank: np.ndarray  # (M,) int64: rank by predicted_iou among the masks reaching top_k (0: best), -1 elsewhere

    def left_after(self, stage: str) -> int:
        """Masks left after `stage` (and the stages before it)."""
        position = STAGES.index(stage)
        dropped = (self.dropped_by >= 0) & (self.dropped_by <= position)
        return int(len(self.dropped_by) - dropped.sum())


def touches_border(boxes_xyxy: np.ndarray, areas: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """(M,) bool: the mask has a pixel in the image's first or last row or column (boxes: SAM's inclusive XYXY)."""
    height, width = image_size
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    touching = (boxes[:, 0] == 0) | (boxes[:, 1] == 0) | (boxes[:, 2] >= width - 1) | (boxes[:, 3] >= height - 1)
    return touching & (np.asarray(areas) > 0)


def select(
    config: AmgConfig,
    image_size: tuple[int, int],
    areas: Sequence[int] | np.ndarray,
    boxes_xyxy: np.ndarray,
    predicted_ious: np.ndarray,
) -> PostFilterTrace:
    """Which of the official output's masks `config`'s post-filters keep, and which stage dropped the others."""
    areas_array = np.asarray(areas, dtype=np.int64).reshape(-1)
    count = len(areas_array)
    dropped_by = np.full(count, -1, dtype=np.int8)
    rank = np.full(count, -1, dtype=np.int64)
    stages: list[str] = []
    max_area_px = None
    if config.max_mask_region_area is not None:
        stages.append(MAX_AREA)
        max_area_px = config.max_mask_region_area.pixels(image_size)
        # Python floats, as the records' filter compares them: the same limit to the last bit.
        over = np.array([int(area) > max_area_px for area in areas_array.tolist()], dtype=bool)
        dropped_by[over] = STAGES.index(MAX_AREA)
    if config.drop_border_masks:
        stages.append(BORDER)
        border = touches_border(boxes_xyxy, areas_array, image_size)
        dropped_by[(dropped_by < 0) & border] = STAGES.index(BORDER)
    if config.top_k is not None:
        stages.append(TOP_K)
        left = np.flatnonzero(dropped_by < 0)
        scores = np.asarray(predicted_ious, dtype=np.float64).reshape(-1)[left]
        order = left[np.argsort(-scores, kind="stable")]  # stable: equal scores keep the output's order
        rank[order] = np.arange(len(order))
        dropped_by[order[config.top_k :]] = STAGES.index(TOP_K)
    keep = np.flatnonzero(dropped_by < 0).astype(np.int64)
    return PostFilterTrace(tuple(stages), dropped_by, keep, max_area_px, rank)


def _xyxy_of_records(records: Sequence[dict[str, Any]]) -> np.ndarray:
    """SAM's XYXY boxes back from the records' [x, y, w, h] (w = last column - first column)."""
    boxes = np.asarray([record["bbox"] for record in records], dtype=np.float64).reshape(-1, 4)
    return np.stack([boxes[:, 0], boxes[:, 1], boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]], axis=1)


def apply_to_records(
    records: Sequence[dict[str, Any]], config: AmgConfig, image_size: tuple[int, int]
) -> list[dict[str, Any]]:
    """The official generator's records filtered by `config`'s post-filters (all of them without any)."""
    if not config.post_filtered:
        return list(records)
    trace = select(
        config,
        image_size,
        [int(record["area"]) for record in records],
        _xyxy_of_records(records),
        np.asarray([float(record["predicted_iou"]) for record in records], dtype=np.float64),
    )
    return [records[i] for i in trace.keep.tolist()]


def official_then_post_filters(model: Any, image: np.ndarray, config: AmgConfig) -> list[dict[str, Any]]:
    """The family's official generator (`SamAutomaticMaskGenerator(model, **config.to_kwargs())`) on
    `image`, then the post-filters.

    What the engine's result for `config` equals; where the official code raises (crop layers and no
    mask left in any crop), no masks.
    """
    import torch

    from samcompare.families import family_of

    generator = family_of(model).official_generator(model, config)
    with torch.inference_mode():
        try:
            records = generator.generate(image)
        except IndexError:
            records = []
    return apply_to_records(records, config, (int(image.shape[0]), int(image.shape[1])))
