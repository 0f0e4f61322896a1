"""Between a setting's form fields and `AmgConfig`: plain values both ways, no Streamlit, so it is testable.

A form keeps what the user typed even when it is invalid (so nothing is lost); `form_to_config`
turns the typed values into a validated `AmgConfig` or raises the core's `ConfigError`, which
names the field to show the message beside.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from samcompare.config import (
    GENERATOR_PARAMETERS,
    POST_FILTER_PARAMETERS,
    PRESETS,
    SAM2_ONLY_PARAMETERS,
    AmgConfig,
    ConfigError,
)

MAX_SETTINGS = 6
DEFAULT_PRESETS = ("SAM default", "High precision")

INTEGER_PARAMETERS = (
    "points_per_side",
    "points_per_batch",
    "crop_n_layers",
    "crop_n_points_downscale_factor",
    "min_mask_region_area",
)
FLOAT_PARAMETERS = (
    "pred_iou_thresh",
    "stability_score_thresh",
    "stability_score_offset",
    "box_nms_thresh",
    "crop_nms_thresh",
    "crop_overlap_ratio",
)
# The article's sliders: what people tune first. The rest sit in an expander.
MAIN_PARAMETERS = (
    "points_per_side",
    "pred_iou_thresh",
    "stability_score_thresh",
    "crop_n_layers",
    "crop_n_points_downscale_factor",
    "min_mask_region_area",
)
MORE_PARAMETERS = tuple(name for name in GENERATOR_PARAMETERS if name not in MAIN_PARAMETERS)
# Beyond SamAutomaticMaskGenerator, in a section of their own: max area as text ("" none, "5000", "40%"),
# drop_border_masks a checkbox, top_k a number (0: keep all).
# SAM 2's own parameters (a float and two switches) sit after them; the model ("" for the sidebar's)
# is a field of its own that is not a parameter of any generator.
FIELDS = ("name", "model", *GENERATOR_PARAMETERS, *SAM2_ONLY_PARAMETERS, *POST_FILTER_PARAMETERS)
SWITCHES = ("use_m2m", "multimask_output", "drop_border_masks")

assert set(INTEGER_PARAMETERS) | set(FLOAT_PARAMETERS) | {"point_grids", "output_mode"} == set(GENERATOR_PARAMETERS)


def config_to_form(config: AmgConfig) -> dict[str, Any]:
    """Form values of a setting: numbers as numbers, point_grids as JSON text ("" for none)."""
    values: dict[str, Any] = {"name": config.name}
    for name in INTEGER_PARAMETERS:
        value = getattr(config, name)
        values[name] = None if value is None else int(value)
    for name in FLOAT_PARAMETERS:
        values[name] = float(getattr(config, name))
    grids = config.to_dict()["point_grids"]
    values["point_grids"] = "" if grids is None else json.dumps(grids)
    values["output_mode"] = config.output_mode
    limit = config.max_mask_region_area
    values["max_mask_region_area"] = "" if limit is None else str(limit.to_json())
    values["drop_border_masks"] = bool(config.drop_border_masks)
    values["top_k"] = 0 if config.top_k is None else int(config.top_k)
    values["model"] = config.model or ""
    values["mask_threshold"] = float(config.mask_threshold)
    values["use_m2m"] = bool(config.use_m2m)
    values["multimask_output"] = bool(config.multimask_output)
    return values


def form_to_config(values: dict[str, Any], other_names: Sequence[str] = ()) -> AmgConfig:
    """The validated setting of a form; `ConfigError` (naming the field) when a value is refused."""
    name = str(values.get("name") or "").strip()
    if name in other_names:
        raise ConfigError("name", f"another setting is already called {name!r}; names tell the results apart")
    grids_text = str(values.get("point_grids") or "").strip()
    grids: Any = None
    if grids_text:
        try:
            grids = json.loads(grids_text)
        except json.JSONDecodeError as error:
            raise ConfigError(
                "point_grids", f"is not valid JSON ({error.msg}); give a list of grids like [[[0.5, 0.5]]]"
            ) from None
    parameters: dict[str, Any] = {"name": name, "point_grids": grids, "output_mode": values.get("output_mode")}
    for field_name in INTEGER_PARAMETERS:
        value = values.get(field_name)
        # A number input gives floats for typed-in decimals only if configured so; keep ints ints.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        parameters[field_name] = value
    for field_name in FLOAT_PARAMETERS:
        parameters[field_name] = values.get(field_name)
    limit_text = str(values.get("max_mask_region_area") or "").strip()
    parameters["max_mask_region_area"] = limit_text or None
    parameters["drop_border_masks"] = bool(values.get("drop_border_masks") or False)
    top_k = values.get("top_k")
    if isinstance(top_k, float) and top_k.is_integer():
        top_k = int(top_k)
    parameters["top_k"] = None if top_k in (None, 0) else top_k
    parameters["model"] = str(values.get("model") or "").strip() or None
    parameters["mask_threshold"] = values.get("mask_threshold", 0.0)
    parameters["use_m2m"] = bool(values.get("use_m2m", False))
    parameters["multimask_output"] = bool(values.get("multimask_output", True))
    return AmgConfig(**parameters)


def unique_name(base: str, taken: Sequence[str]) -> str:
    """`base`, or `base (2)`, `base (3)`, ... whichever is free."""
    if base not in taken:
        return base
    number = 2
    while f"{base} ({number})" in taken:
        number += 1
    return f"{base} ({number})"


def preset_form(preset: str, taken: Sequence[str] = ()) -> dict[str, Any]:
    config = PRESETS[preset]
    return config_to_form(config.replace(name=unique_name(config.name, taken)))
