"""Small pictures of what each parameter does, for the Parameters guide.

Grid and crop parameters are drawn as diagrams (cheap, exact: the generator's own grid and crop
functions). Threshold parameters are shown by running the demo model once on a shape scene at
16 points per side; all their settings share one decode, so the whole set costs a few seconds
once per process. Each pair of values was chosen so that the two pictures differ on that scene
(`tests/app/test_parameter_examples.py` checks that they do). Captions come in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import streamlit as st
from segment_anything.utils.amg import build_all_layer_point_grids, generate_crop_boxes

from samcompare.config import AmgConfig
from samcompare.engine import RunResult, compare
from samcompare.results import OverlayOptions, mask_count, overlay
from samcompare.samples import load_sample

SCALE = 2  # the 128 px scenes are drawn at 256 px
EXAMPLE_SAMPLE = "Shapes 01"  # a busy scene: every parameter below changes what is found on it
EXAMPLE_BASE = AmgConfig(name="example", points_per_side=16, pred_iou_thresh=0.6, stability_score_thresh=0.5)
# parameter -> ((low, high) values shown side by side on the demo model, the base's other values)
MODEL_EXAMPLES: dict[str, tuple[tuple[object, object], dict[str, object]]] = {
    "pred_iou_thresh": ((0.5, 0.9), {}),
    "stability_score_thresh": ((0.5, 0.98), {}),
    "stability_score_offset": ((0.5, 2.0), {"stability_score_thresh": 0.95}),
    "box_nms_thresh": ((0.3, 0.95), {}),
    "min_mask_region_area": ((0, 150), {}),
}


@dataclass(frozen=True)
class ExamplePicture:
    caption_en: str
    caption_ja: str
    picture: np.ndarray

    def caption(self, language: str) -> str:
        return self.caption_ja if language == "ja" else self.caption_en


def example_image() -> np.ndarray:
    return np.asarray(load_sample(EXAMPLE_SAMPLE))


def example_configs() -> list[AmgConfig]:
    """Two settings per parameter of MODEL_EXAMPLES, in order: its low value, then its high one."""
    configs = []
    for parameter, (values, base) in MODEL_EXAMPLES.items():
        for value in values:
            configs.append(EXAMPLE_BASE.replace(name=f"{parameter}={value}", **{**base, parameter: value}))
    return configs


def plural(count: int, one: str, many: str) -> str:
    """ "1 crop", "5 crops"."""
    return f"{count} {one if count == 1 else many}"


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
    return ExamplePicture(
        f"points_per_side={points_per_side}: {plural(len(grid), 'prompt', 'prompts')}",
        f"points_per_side={points_per_side}: プロンプト {len(grid)} 点",
        picture,
    )


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
    english = f"crop_n_layers={crop_n_layers}: {plural(len(boxes), 'crop', 'crops')}"
    japanese = f"crop_n_layers={crop_n_layers}: クロップ {len(boxes)} 個"
    if overlap != 512 / 1500:
        english = japanese = f"crop_overlap_ratio={overlap:g}"
    if downscale is not None:
        english = (
            f"8 points per side, downscale factor {downscale}: {plural(len(grids[-1]), 'point', 'points')} "
            "per layer-1 crop"
        )
        japanese = f"一辺 8 点、縮小率 {downscale}: 第 1 層のクロップごとに {len(grids[-1])} 点"
    return ExamplePicture(english, japanese, picture)


def custom_grid_diagram() -> ExamplePicture:
    picture = _enlarge(example_image())
    xs = np.linspace(0.3, 0.7, 7)
    grid = np.array([(x, y) for x in xs for y in xs])
    _points(picture, grid, (0, 0, 128, 128), (255, 220, 0))
    return ExamplePicture("point_grids: 49 points in the centre only", "point_grids: 中央だけに 49 点", picture)


def example_results(model: Any) -> list[RunResult]:
    """The demo model's results for `example_configs()`, one decode shared by all (no Streamlit: tests call it)."""
    return compare(model, example_image(), example_configs())


@st.cache_resource(show_spinner=False)
def model_examples(model_name: str = "demo") -> dict[str, tuple[ExamplePicture, ExamplePicture]]:
    """For each threshold-like parameter, the demo model's masks at a low and a high value."""
    from samcompare_app.resources import cached_model, device_name

    model = cached_model(model_name, device_name())
    image = example_image()
    results = example_results(model)
    options = OverlayOptions(opacity=0.55)
    examples: dict[str, tuple[ExamplePicture, ExamplePicture]] = {}
    for index, parameter in enumerate(MODEL_EXAMPLES):
        pair = []
        for result in results[2 * index : 2 * index + 2]:
            picture = _enlarge(overlay(image, result, options))
            name = result.config.name
            pair.append(
                ExamplePicture(
                    f"{name}: {mask_count(len(result))}", f"{name}: {mask_count(len(result), 'ja')}", picture
                )
            )
        examples[parameter] = (pair[0], pair[1])
    return examples
