"""The threshold sweep: how many masks (and how much of the image) every cell of a parameter grid keeps.

One decode serves every cell: the sweep filters the cached candidates of the base setting's
plan (`SettingCandidates`) with each cell's thresholds, exactly as the official generator would
(`filter_setting`), so a cell's count is `len(SamAutomaticMaskGenerator(model, **cell).generate(image))`.
A cell computes the whole filter chain: the score thresholds, the crop-edge test, box NMS per
crop, NMS across crops and the small-region clean-up (each mask cleaned once per area over the
whole sweep), then the coverage of the kept masks from their RLE runs. A base setting with
post-filters beyond the official generator (a maximum area, no border masks, top k) keeps them in
every cell, and `top_k` can be swept too: a cell then equals the official output filtered by them.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from samcompare.config import AmgConfig, ConfigError
from samcompare.engine import ComparisonCache, ProgressCallback, SettingCandidates, filter_setting, setting_candidates
from samcompare.engine.filtering import CleanupMemo
from samcompare.engine.rle import union_area

# What the sweep varies: the parameters a cached decode can be filtered with again.
SWEEPABLE = ("pred_iou_thresh", "stability_score_thresh", "box_nms_thresh", "min_mask_region_area", "top_k")
SHORT_NAMES = {
    "pred_iou_thresh": "iou",
    "stability_score_thresh": "stability",
    "box_nms_thresh": "box nms",
    "min_mask_region_area": "min area",
    "top_k": "top k",
}
INTEGER_PARAMETERS = ("min_mask_region_area", "top_k")
DEFAULT_PRED_IOU = (0.5, 0.95, 10)  # start, stop, count: the grid the app opens with
DEFAULT_STABILITY = (0.5, 0.95, 10)
DEFAULT_BOX_NMS = (0.3, 1.0, 8)


class SweepError(ConfigError):
    """A sweep that cannot run: an unknown parameter, values that do not parse or are out of range."""


@dataclass(frozen=True)
class SweepAxis:
    """One swept parameter and its values, in order."""

    parameter: str
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.parameter not in SWEEPABLE:
            raise SweepError(self.parameter, f"cannot be swept: choose from {', '.join(SWEEPABLE)}")
        if not self.values:
            raise SweepError(self.parameter, "no values to sweep")
        for value in self.values:
            try:
                AmgConfig().replace(**{self.parameter: _typed(self.parameter, value)})
            except ConfigError as error:
                raise SweepError(self.parameter, error.message) from None

    @classmethod
    def linspace(cls, parameter: str, start: float, stop: float, count: int) -> SweepAxis:
        return cls(parameter, evenly_spaced(parameter, start, stop, count))

    def including(self, extra: Sequence[float]) -> SweepAxis:
        """This axis with `extra` values added (sorted, no repeats): a grid that holds the settings in use."""
        return SweepAxis(self.parameter, tuple(sorted({*self.values, *(float(v) for v in extra)})))

    @classmethod
    def parse(cls, parameter: str, text: str) -> SweepAxis:
        """`0.5,0.7,0.9` (a list) or `0.5:0.95:10` (start:stop:count, both ends included)."""
        return cls(parameter, parse_values(parameter, text))


def _typed(parameter: str, value: float) -> float | int:
    return int(round(value)) if parameter in INTEGER_PARAMETERS else float(value)


def evenly_spaced(parameter: str, start: float, stop: float, count: int) -> tuple[float, ...]:
    if count < 1:
        raise SweepError(parameter, f"the count must be at least 1, got {count}")
    values = np.linspace(start, stop, count) if count > 1 else np.array([start])
    if parameter in INTEGER_PARAMETERS:
        return tuple(dict.fromkeys(float(round(v)) for v in values))
    return tuple(dict.fromkeys(round(float(v), 6) for v in values))


def parse_values(parameter: str, text: str) -> tuple[float, ...]:
    text = text.strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            return evenly_spaced(parameter, float(parts[0]), float(parts[1]), int(parts[2]))
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise SweepError(
            parameter, f"{text!r} is neither a comma list (0.5,0.7,0.9) nor start:stop:count (0.5:0.95:10)"
        ) from None
    if not values or not all(math.isfinite(v) for v in values):
        raise SweepError(parameter, f"{text!r} holds no finite values")
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Every cell of a sweep: `frame` has one row per cell, the swept parameters, `masks` and `coverage_pct`."""

    base: AmgConfig
    axes: tuple[SweepAxis, ...]
    frame: pd.DataFrame
    seconds: float  # filtering all cells, the decode not included
    candidates: int  # candidates in the decode the cells were filtered from
    computed: int  # of which post-processed (stability and mask known)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(axis.parameter for axis in self.axes)

    def config_at(self, row: int) -> AmgConfig:
        """The setting of cell `row`, named after its swept values."""
        values = {p: _typed(p, self.frame.iloc[row][p]) for p in self.parameters}
        name = "sweep: " + ", ".join(f"{SHORT_NAMES[p]} {_format(v)}" for p, v in values.items())
        return self.base.replace(name=name, **values)

    def grid(self, x: str, y: str, value: str = "masks", where: dict[str, float] | None = None) -> pd.DataFrame:
        """A `y` x `x` table of `value` (rows: y values, columns: x values), other parameters fixed by `where`."""
        frame = self.frame
        for parameter, fixed in (where or {}).items():
            frame = frame[np.isclose(frame[parameter], fixed)]
        return frame.pivot_table(index=y, columns=x, values=value, aggfunc="first").sort_index()


def _format(value: float | int) -> str:
    return f"{value:g}"


def sweep_floor(base: AmgConfig, axes: Sequence[SweepAxis]) -> float | None:
    """The lowest pred_iou_thresh any cell uses (None: a cell keeps every candidate)."""
    values = [base.pred_iou_thresh]
    for axis in axes:
        if axis.parameter == "pred_iou_thresh":
            values = list(axis.values)
    lowest = min(values)
    return None if lowest <= 0.0 else lowest


def sweep(
    candidates: SettingCandidates,
    axes: Sequence[SweepAxis],
    base: AmgConfig | None = None,
    on_cell: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Filter `candidates` with every combination of the axes' values (the other parameters: `base`'s).

    The candidates must reach down to the lowest swept `pred_iou_thresh` (`sweep_floor`).
    `on_cell(done, total)` reports progress.
    """
    base = base if base is not None else candidates.config
    axes = tuple(axes)
    parameters = [axis.parameter for axis in axes]
    if len(set(parameters)) != len(parameters):
        raise SweepError(parameters[0], "each parameter can be swept once")
    pixels = candidates.image_size[0] * candidates.image_size[1]
    memo: CleanupMemo = {}
    rows: list[dict[str, Any]] = []
    cells = list(itertools.product(*(axis.values for axis in axes)))
    tick = time.perf_counter()
    for index, values in enumerate(cells):
        changes = {p: _typed(p, v) for p, v in zip(parameters, values, strict=True)}
        config = base.replace(**changes)
        result = filter_setting(candidates, config, trace=False, cleanup_memo=memo)
        rows.append({**changes, "masks": len(result), "coverage_pct": 100.0 * union_area(result.counts) / pixels})
        if on_cell is not None:
            on_cell(index + 1, len(cells))
    frame = pd.DataFrame(rows, columns=[*parameters, "masks", "coverage_pct"])
    return SweepResult(base, axes, frame, time.perf_counter() - tick, len(candidates), candidates.computed)


def run_sweep(
    model: torch.nn.Module,
    image: np.ndarray,
    base: AmgConfig,
    axes: Sequence[SweepAxis],
    cache: ComparisonCache | None = None,
    progress: ProgressCallback | None = None,
    on_cell: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Decode `base`'s plan once (or take it from `cache`), down to the lowest swept threshold, then sweep."""
    candidates = setting_candidates(model, image, base, floor=sweep_floor(base, axes), cache=cache, progress=progress)
    return sweep(candidates, axes, base, on_cell)
