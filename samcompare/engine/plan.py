"""Which work a setting needs: its crop boxes, each with the point grid and batch size it is decoded with.

Two settings whose plans name the same (crop box, grid, points_per_batch) share that crop's decode;
two crops with the same box share its embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from segment_anything.utils.amg import build_all_layer_point_grids, generate_crop_boxes

from samcompare.config import AmgConfig
from samcompare.engine.cache import array_key


@dataclass(frozen=True)
class CropTask:
    """One crop of a setting's plan, as `SamAutomaticMaskGenerator._process_crop` receives it."""

    crop_box: tuple[int, int, int, int]  # XYXY in the image
    layer: int  # crop layer: 0 is the whole image
    grid: np.ndarray = field(compare=False)  # (P, 2) points in [0, 1] of the crop
    grid_key: str
    points_per_batch: int


def plan_crops(config: AmgConfig, image_size: tuple[int, int]) -> tuple[CropTask, ...]:
    """The crops `config` processes on an image of `image_size` (H, W), in the official order."""
    crop_boxes, layer_idxs = generate_crop_boxes(image_size, config.crop_n_layers, config.crop_overlap_ratio)
    grids: list[np.ndarray]
    if config.points_per_side is not None:
        grids = build_all_layer_point_grids(
            config.points_per_side, config.crop_n_layers, config.crop_n_points_downscale_factor
        )
    else:
        grids = config.to_kwargs()["point_grids"]
    tasks = []
    for box, layer in zip(crop_boxes, layer_idxs, strict=True):
        grid = grids[layer]
        crop_box = (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
        tasks.append(CropTask(crop_box, int(layer), grid, array_key(grid), config.points_per_batch))
    return tuple(tasks)
