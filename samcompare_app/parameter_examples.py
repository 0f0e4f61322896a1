"""Small pictures of what each parameter does, for the Parameters guide.

Grid and crop parameters are drawn as diagrams (cheap, exact: the generator's own grid and crop
functions). Threshold parameters are shown by running the demo model once on a shape scene at
16 points per side; all their settings share one decode, so the whole set costs a few seconds
once per process.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import streamlit as st
from segment_anything.utils.amg import build_all_layer_point_grids, generate_crop_boxes

from samcompare.config import AmgConfig
from samcompare.engine import compare
from samcompare.results import OverlayOptions, mask_count, overlay
from samcompare.samples import SHAPES, load_sample, sample_names

SCALE = 2  # the 128 px scenes are drawn at 256 px
EXAMPLE_BASE = AmgConfig(name="example", points_per_side=16)
# parameter -> (low, high) values shown side by side on the demo model
MODEL_EXAMPLES: dict[str, tuple[object, object]] = {
    "pred_iou_thresh": (0.5, 0.95),
    "stability_score_thresh": (0.6, 0.97),
    "stability_score_offset": (0.5, 2.0),
    "box_nms_thresh": (0.3, 0.95),
    "min_mask_region_area": (0, 60),
}


@dataclass(frozen=True)
class ExamplePicture:
    caption: str
    picture: np.ndarray


def example_image() -> np.ndarray:
    return np.asarray(load_sample(sample_names(SHAPES)[0]))


def _enlarge(picture: np.ndarray) -> np.ndarray:
    height, width = picture.shape[:2]
    return cv2.resize(picture, (width * SCALE, height * SCALE), interpolation=cv2.INTER_NEAREST)


def _points(picture: np.ndarray, grid: np.ndarray, box: tuple[int, ...], colour: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = box
    for x, y in grid:
        centre = (round((x0 + x * (x1 - x0)) * SCALE), round((y0 + y * (y1 - y0)) * SCALE))
        cv2.circle(picture, centre, 2, colour, -1, cv2.LINE_AA)


def grid_diagram(points_per_side: int) -> ExamplePicture:
    picture = _enlarge(example_image())
    grid = build_all_layer_point_grids(points_per_side, 0, 1)[0]
    _points(picture, grid, (0, 0, 128, 128), (255, 40, 40))
    return ExamplePicture(f"points_per_side={points_per_side}: {len(grid)} prompts", picture)


def crop_diagram(crop_n_layers: int, overlap: float = 512 / 1500, downscale: int | None = None) -> ExamplePicture:
    """Crop boxes of every layer; with `downscale`, also each layer-1 crop's points."""
    image = example_image()
    picture = _enlarge(image)
    boxes, layers = generate_crop_boxes(image.shape[:2], crop_n_layers, overlap)
    colours = [(255, 255, 255), (255, 60, 60), (60, 160, 255)]
    grids = build_all_layer_point_grids(8, crop_n_layers, downscale or 1)
    for box, layer in zip(boxes, layers, strict=True):
        x0, y0, x1, y1 = (int(v) * SCALE for v in box)
        cv2.rectangle(picture, (x0 + layer, y0 + layer), (x1 - 1 - layer, y1 - 1 - layer), colours[layer % 3], 1)
        if downscale is not None:
            _points(picture, grids[layer], tuple(int(v) for v in box), colours[layer % 3])
    caption = f"crop_n_layers={crop_n_layers}: {len(boxes)} crops"
    if overlap != 512 / 1500:
        caption = f"crop_overlap_ratio={overlap:g}"
    if downscale is not None:
        caption = f"8 points per side, downscale factor {downscale}: {len(grids[-1])} points per layer-1 crop"
    return ExamplePicture(caption, picture)


def custom_grid_diagram() -> ExamplePicture:
    picture = _enlarge(example_image())
    xs = np.linspace(0.3, 0.7, 7)
    grid = np.array([(x, y) for x in xs for y in xs])
    _points(picture, grid, (0, 0, 128, 128), (255, 220, 0))
    return ExamplePicture("point_grids: 49 points in the centre only", picture)


@st.cache_resource(show_spinner="Running the demo model for the example pictures (once)…")
def model_examples(model_name: str = "demo") -> dict[str, tuple[ExamplePicture, ExamplePicture]]:
    """For each threshold-like parameter, the demo model's masks at a low and a high value."""
    from samcompare_app.resources import cached_model, device_name

    model = cached_model(model_name, device_name())
    image = example_image()
    configs = []
    for parameter, values in MODEL_EXAMPLES.items():
        for value in values:
            configs.append(EXAMPLE_BASE.replace(name=f"{parameter}={value}", **{parameter: value}))
    results = compare(model, image, configs)
    options = OverlayOptions(opacity=0.55)
    examples: dict[str, tuple[ExamplePicture, ExamplePicture]] = {}
    for index, parameter in enumerate(MODEL_EXAMPLES):
        pair = []
        for result in results[2 * index : 2 * index + 2]:
            picture = _enlarge(overlay(image, result, options))
            pair.append(ExamplePicture(f"{result.config.name}: {mask_count(len(result))}", picture))
        examples[parameter] = (pair[0], pair[1])
    return examples
