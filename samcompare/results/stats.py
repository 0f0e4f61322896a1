"""Numbers about runs: a table of masks per run, a summary per run, one comparison row per setting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from samcompare.engine.result import CacheUse
from samcompare.engine.rle import covered_areas
from samcompare.results.masks import RunLike, RunMasks, as_run_masks

MASK_TABLE_COLUMNS = (
    "id",
    "area",
    "bbox_x",
    "bbox_y",
    "bbox_w",
    "bbox_h",
    "predicted_iou",
    "stability_score",
    "point_x",
    "point_y",
    "crop_x",
    "crop_y",
    "crop_w",
    "crop_h",
)


def _pair(value: Any, default: float = float("nan")) -> tuple[float, float]:
    """First point of point_coords ([[x, y]]) or a plain [x, y]."""
    if value is None:
        return default, default
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    return (float(array[0]), float(array[1])) if array.size >= 2 else (default, default)


def _box(value: Any) -> tuple[float, float, float, float]:
    if value is None:
        return (float("nan"),) * 4  # type: ignore[return-value]
    x, y, w, h = (float(v) for v in value)
    return x, y, w, h


def mask_count(count: int, language: str = "en") -> str:
    """ "1 mask", "3 masks" (Japanese "マスク 3 個"): captions read as sentences."""
    if language == "ja":
        return f"マスク {count} 個"
    return f"{count} mask" if count == 1 else f"{count} masks"


def mask_table(run: RunLike, mask_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per mask with the record's own numbers (bbox as SAM reports it), ready for CSV.

    `id` is the mask's index in the run's records.
    """
    masks = as_run_masks(run)
    rows = []
    for mask_id in masks.check_ids(mask_ids):
        record = masks.records[mask_id]
        bbox = _box(record.get("bbox"))
        point = _pair(record.get("point_coords"))
        crop = _box(record.get("crop_box"))
        rows.append(
            (
                mask_id,
                int(record["area"]) if "area" in record else int(masks.areas()[mask_id]),
                *bbox,
                float(record.get("predicted_iou", float("nan"))),
                float(record.get("stability_score", float("nan"))),
                *point,
                *crop,
            )
        )
    table = pd.DataFrame(rows, columns=list(MASK_TABLE_COLUMNS))
    integer_columns = ["id", "area", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "crop_x", "crop_y", "crop_w", "crop_h"]
    if rows and not table[integer_columns].isna().any().any():
        table[integer_columns] = table[integer_columns].astype(np.int64)
    return table


@dataclass(frozen=True)
class RunSummary:
    """One run in numbers; percentages are of all image pixels."""

    setting: str
    mask_count: int
    coverage_pct: float  # pixels inside at least one mask
    overlap_pct: float  # pixels inside two or more masks
    unlabelled_pct: float  # pixels inside no mask
    area_min: float
    area_q1: float
    area_median: float
    area_q3: float
    area_max: float
    predicted_iou_mean: float
    predicted_iou_median: float
    stability_score_mean: float
    stability_score_median: float
    run_seconds: float | None  # this setting's own work; None for plain records
    from_cache: bool | None  # True: no network pass of its own (all reused); None for plain records
    cache: str | None  # embeddings and decodes computed versus reused; None for plain records

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def _cache_text(cache_use: CacheUse) -> str:
    if cache_use.network_free:
        return "all reused (no network pass)"
    return (
        f"embeddings {cache_use.embeddings_computed} computed/{cache_use.embeddings_reused} reused, "
        f"decodes {cache_use.decodes_computed} computed/{cache_use.decodes_reused} reused"
    )


def _setting_name(masks: RunMasks, fallback: str) -> str:
    return masks.config.name if masks.config is not None else fallback


def summarize_run(run: RunLike, image_shape: tuple[int, ...] | None = None, setting: str | None = None) -> RunSummary:
    """Counts, coverage and score statistics of one run; timing and cache use when the run has them."""
    masks = as_run_masks(run, image_shape)
    result = masks.result
    pixels = masks.image_shape[0] * masks.image_shape[1]
    if result is not None:  # the engine's RLE counts: no mask decoded
        covered, overlapped = covered_areas(result.counts, (1, 2))
    else:
        per_pixel = masks.pixel_counts()
        covered, overlapped = int(np.count_nonzero(per_pixel)), int(np.count_nonzero(per_pixel >= 2))
    areas = masks.areas().astype(np.float64)
    quartiles = np.percentile(areas, [0, 25, 50, 75, 100]) if areas.size else np.full(5, np.nan)
    ious = np.array([float(r.get("predicted_iou", np.nan)) for r in masks.records], dtype=np.float64)
    stabilities = np.array([float(r.get("stability_score", np.nan)) for r in masks.records], dtype=np.float64)

    def mean(values: np.ndarray) -> float:
        return float(np.mean(values)) if values.size else float("nan")

    def median(values: np.ndarray) -> float:
        return float(np.median(values)) if values.size else float("nan")

    return RunSummary(
        setting=setting if setting is not None else _setting_name(masks, "run"),
        mask_count=len(masks),
        coverage_pct=100.0 * covered / pixels,
        overlap_pct=100.0 * overlapped / pixels,
        unlabelled_pct=100.0 * (pixels - covered) / pixels,
        area_min=float(quartiles[0]),
        area_q1=float(quartiles[1]),
        area_median=float(quartiles[2]),
        area_q3=float(quartiles[3]),
        area_max=float(quartiles[4]),
        predicted_iou_mean=mean(ious),
        predicted_iou_median=median(ious),
        stability_score_mean=mean(stabilities),
        stability_score_median=median(stabilities),
        run_seconds=None if result is None else float(result.timings.total),
        from_cache=None if result is None else result.from_cache,
        cache=None if result is None else _cache_text(result.cache_use),
    )


def _changed_parameters(masks: RunMasks) -> str:
    if masks.config is None:
        return ""
    return masks.config.describe_changes() or "(SAM defaults)"


def comparison_table(runs: Sequence[RunLike], image_shape: tuple[int, ...] | None = None) -> pd.DataFrame:
    """One row per run (setting): its name, its model, the columns of `RunSummary`, the parameters that differ."""
    rows = []
    for index, run in enumerate(runs):
        masks = as_run_masks(run, image_shape)
        row = summarize_run(masks, setting=_setting_name(masks, f"run {index + 1}")).as_row()
        row["model"] = (masks.config.model if masks.config is not None else None) or ""
        row["parameters"] = _changed_parameters(masks)
        rows.append(row)
    fields = list(RunSummary.__dataclass_fields__)
    columns = [fields[0], "model", *fields[1:], "parameters"]  # setting, model, figures, parameters
    return pd.DataFrame(rows, columns=columns)
