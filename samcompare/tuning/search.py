"""The search: Optuna proposes settings, each is filtered from cached candidates and scored, the best are kept.

The filter parameters (`pred_iou_thresh`, `stability_score_thresh`, `stability_score_offset`,
`box_nms_thresh`, `min_mask_region_area`) cost no network: every trial filters the decode of
its plan again. Widening the search to `points_per_side` or `crop_n_layers` adds plans, and each
plan costs one decode before the trials start (`TuneRequest.plans`, `decode_estimate`). A new
stability offset costs one decoder pass per plan (not the encoder). Optuna's TPE sampler is
seeded, so a run can be repeated; the base setting is the first trial, so the best found is never
worse than the setting the search started from, as long as that lies in the search space.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from samcompare.config import AmgConfig, ConfigError
from samcompare.engine import ComparisonCache, Progress, ProgressCallback, setting_candidates
from samcompare.engine.plan import plan_crops
from samcompare.evaluation.ground_truth import GroundTruth
from samcompare.evaluation.marks import MarksMetrics
from samcompare.evaluation.metrics import DEFAULT_IOU_THRESHOLDS, SettingMetrics
from samcompare.tuning.objectives import Objective, ObjectiveError
from samcompare.tuning.scoring import PoolScorer, Reference

THRESHOLD_STEP = 0.01  # proposed thresholds are rounded to this: settings stay readable
AREA_VALUES = 9  # min_mask_region_area is searched on this many evenly spaced values (each cleaned once)


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of the filter parameters, and the optional plan parameters (empty: the base setting's value)."""

    pred_iou_thresh: tuple[float, float] = (0.5, 1.0)
    stability_score_thresh: tuple[float, float] = (0.5, 1.0)
    box_nms_thresh: tuple[float, float] = (0.3, 1.0)
    min_mask_region_area: tuple[int, int] | None = None  # None: 0 .. 0.2% of the image (at least 100 px)
    stability_score_offsets: tuple[float, ...] = ()  # e.g. (0.5, 1.0, 2.0): costs a decoder pass per plan
    points_per_side: tuple[int, ...] = ()  # e.g. (16, 32, 48): a decode per plan
    crop_n_layers: tuple[int, ...] = ()  # e.g. (0, 1)

    def __post_init__(self) -> None:
        for name in ("pred_iou_thresh", "stability_score_thresh", "box_nms_thresh"):
            low, high = getattr(self, name)
            if not low <= high:
                raise ConfigError(name, f"the search range {low:g}..{high:g} is empty")
            for value in (low, high):
                AmgConfig().replace(**{name: float(value)})  # the setting's own validation names the field
        if self.min_mask_region_area is not None:
            low_area, high_area = self.min_mask_region_area
            if not 0 <= low_area <= high_area:
                raise ConfigError("min_mask_region_area", f"the search range {low_area}..{high_area} is empty")
        for offset in self.stability_score_offsets:
            AmgConfig(stability_score_offset=float(offset))
        for points in self.points_per_side:
            AmgConfig(points_per_side=int(points))
        for layers in self.crop_n_layers:
            AmgConfig(crop_n_layers=int(layers))

    def area_values(self, image_size: tuple[int, int]) -> list[int]:
        low, high = self.min_mask_region_area or (0, max(100, round(0.002 * image_size[0] * image_size[1])))
        return sorted({int(round(v)) for v in np.linspace(low, high, AREA_VALUES)})

    @property
    def widened(self) -> bool:
        return len(self.points_per_side) > 1 or len(self.crop_n_layers) > 1


def plans(base: AmgConfig, space: SearchSpace) -> list[AmgConfig]:
    """The base setting with each searched (points_per_side, crop_n_layers) pair that is a valid setting."""
    configs = []
    for points, layers in itertools.product(
        space.points_per_side or (base.points_per_side,), space.crop_n_layers or (base.crop_n_layers,)
    ):
        try:
            configs.append(base.replace(points_per_side=points, crop_n_layers=layers))
        except ConfigError:
            continue  # e.g. a downscale factor that leaves a crop layer without points
    if not configs:
        raise ConfigError("points_per_side", "no searched points_per_side / crop_n_layers pair is a valid setting")
    return configs


def planned_work(base: AmgConfig, space: SearchSpace) -> list[AmgConfig]:
    """One setting per (plan, stability offset) the search decodes: what `estimate_run` needs to price it."""
    offsets = dict.fromkeys([float(base.stability_score_offset), *space.stability_score_offsets])
    floor = min(space.pred_iou_thresh[0], base.pred_iou_thresh)
    work = [
        plan.replace(stability_score_offset=o, pred_iou_thresh=floor) for plan in plans(base, space) for o in offsets
    ]
    return [*work, base]  # the start is scored too, on its own plan if the search leaves it out


@dataclass(frozen=True, eq=False)
class Trial:
    """One tried setting and what it scored."""

    number: int
    config: AmgConfig
    value: float
    metrics: SettingMetrics | MarksMetrics


@dataclass(frozen=True, eq=False)
class TuneResult:
    """A finished search: every trial, the base setting's score, and the best distinct settings."""

    objective: Objective
    base: Trial
    trials: tuple[Trial, ...]
    seed: int
    seconds: float  # trials only
    decode_seconds: float

    def best(self, count: int = 5) -> list[Trial]:
        """The `count` best trials with distinct settings (the earliest of equal scores first)."""
        ranked = sorted(self.trials, key=lambda t: (-t.value, t.number))
        seen: set[tuple[object, ...]] = set()
        best = []
        for trial in ranked:
            key = tuple(trial.config.to_dict()[name] for name in trial.config.to_dict() if name != "name")
            if key in seen:
                continue
            seen.add(key)
            best.append(trial)
            if len(best) == count:
                break
        return best

    def frame(self) -> pd.DataFrame:
        """`trials.csv`: one row per trial, its parameters, its score and its main figures."""
        rows = [_trial_row(trial) for trial in self.trials]
        return pd.DataFrame(rows)

    def best_frame(self, count: int = 5) -> pd.DataFrame:
        """The best settings and, first, the base setting, with their scores."""
        rows = [{**_trial_row(self.base), "rank": "start"}]
        rows += [{**_trial_row(trial), "rank": str(rank)} for rank, trial in enumerate(self.best(count), 1)]
        frame = pd.DataFrame(rows)
        return frame[["rank", *[c for c in frame.columns if c != "rank"]]]


SEARCHED = (
    "points_per_side",
    "crop_n_layers",
    "pred_iou_thresh",
    "stability_score_thresh",
    "stability_score_offset",
    "box_nms_thresh",
    "min_mask_region_area",
)


def _trial_row(trial: Trial) -> dict[str, object]:
    row: dict[str, object] = {"trial": trial.number, "setting": trial.config.name, "value": trial.value}
    row.update({name: getattr(trial.config, name) for name in SEARCHED})
    metrics = trial.metrics
    row["masks"] = metrics.masks
    if isinstance(metrics, SettingMetrics):
        for threshold in metrics.thresholds:
            suffix = round(threshold.iou_threshold * 100)
            row[f"precision_{suffix}"] = threshold.precision
            row[f"recall_{suffix}"] = threshold.recall
            row[f"f1_{suffix}"] = threshold.f1
        row["ap"] = metrics.ap
    else:
        row.update(good_found=metrics.good_found, bad_hit=metrics.bad_hit, agreement=metrics.agreement)
    return row


def _iou_thresholds(objective: Objective, reference: Reference) -> tuple[float, ...]:
    if not isinstance(reference, GroundTruth):
        return (objective.iou_threshold,)
    if objective.kind == "ap":
        return DEFAULT_IOU_THRESHOLDS
    return tuple(dict.fromkeys([objective.iou_threshold, *DEFAULT_IOU_THRESHOLDS]))


def _round(value: float) -> float:
    return round(round(value / THRESHOLD_STEP) * THRESHOLD_STEP, 6)


def check_request(objective: Objective, reference: Reference, trials: int) -> None:
    """One clear error for a search that cannot run: no trials, or an objective that does not fit the reference."""
    if trials < 1:
        raise ConfigError("trials", f"must be at least 1, got {trials}")
    if objective.needs_marks == isinstance(reference, GroundTruth):
        raise ObjectiveError(
            "agreement needs marked masks" if objective.needs_marks else f"{objective.describe()} needs ground truth"
        )


def search_offsets(base: AmgConfig, space: SearchSpace) -> tuple[float, ...]:
    """The stability offsets the search decodes: the base setting's first."""
    return tuple(dict.fromkeys([float(base.stability_score_offset), *space.stability_score_offsets]))


def search_floor(base: AmgConfig, space: SearchSpace) -> float:
    """The lowest pred_iou_thresh any trial (or the start) can have: candidates are post-processed down to it."""
    return min(space.pred_iou_thresh[0], base.pred_iou_thresh)


def decode_plans(
    model: torch.nn.Module,
    image: np.ndarray,
    reference: Reference,
    plan_configs: Sequence[AmgConfig],
    floor: float,
    offsets: Sequence[float],
    iou_thresholds: Sequence[float],
    cache: ComparisonCache | None = None,
    progress: ProgressCallback | None = None,
) -> list[PoolScorer]:
    """One scorer per plan: the image decoded once per plan (progress over all plans as one bar)."""
    scorers: list[PoolScorer] = []
    for index, config in enumerate(plan_configs):

        def report(step: Progress, index: int = index, name: str = config.name) -> None:
            if progress is not None:
                percent = 100.0 * (index + step.fraction) / len(plan_configs)
                progress(dataclasses.replace(step, config_index=index, config_name=name, done=percent, total=100.0))

        candidates = setting_candidates(
            model, image, config, floor=floor, offsets=offsets, cache=cache, progress=report
        )
        scorers.append(PoolScorer(candidates, reference, iou_thresholds))
    return scorers


def plan_of(base: AmgConfig, plan_configs: Sequence[AmgConfig], image_size: tuple[int, int]) -> int | None:
    """Which plan decodes what `base` decodes (None: the search leaves the start's plan out)."""
    crops = plan_crops(base, image_size)
    return next((i for i, c in enumerate(plan_configs) if plan_crops(c, image_size) == crops), None)


@dataclass(frozen=True)
class Proposals:
    """How Optuna's suggestions become settings: the plans, the ranges, the area values and the offsets."""

    plan_configs: tuple[AmgConfig, ...]
    space: SearchSpace
    areas: tuple[int, ...]
    offsets: tuple[float, ...]

    @property
    def labels(self) -> list[str]:
        return [f"{c.points_per_side}/{c.crop_n_layers}" for c in self.plan_configs]

    def propose(self, trial: Any) -> tuple[int, AmgConfig]:
        """The plan index and the setting (named "tuned #N") of an Optuna trial."""
        space = self.space
        plan_index = 0
        if len(self.plan_configs) > 1:
            plan_index = self.labels.index(trial.suggest_categorical("plan", self.labels))
        plan = self.plan_configs[plan_index]
        changes: dict[str, object] = {
            "pred_iou_thresh": trial.suggest_float("pred_iou_thresh", *space.pred_iou_thresh, step=THRESHOLD_STEP),
            "stability_score_thresh": trial.suggest_float(
                "stability_score_thresh", *space.stability_score_thresh, step=THRESHOLD_STEP
            ),
            "box_nms_thresh": trial.suggest_float("box_nms_thresh", *space.box_nms_thresh, step=THRESHOLD_STEP),
            "min_mask_region_area": trial.suggest_categorical("min_mask_region_area", list(self.areas)),
        }
        if len(self.offsets) > 1:
            changes["stability_score_offset"] = trial.suggest_categorical("stability_score_offset", list(self.offsets))
        changes = {
            k: _round(v) if isinstance(v, float) and k != "stability_score_offset" else v for k, v in changes.items()
        }
        return plan_index, plan.replace(name=f"tuned #{trial.number}", **changes)

    def start(self, base: AmgConfig, image_size: tuple[int, int]) -> dict[str, object] | None:
        """The base setting as Optuna parameters, when every value of it lies in the search space."""
        params: dict[str, object] = {}
        for name in ("pred_iou_thresh", "stability_score_thresh", "box_nms_thresh"):
            low, high = getattr(self.space, name)
            value = float(getattr(base, name))
            if not low <= value <= high or _round(value) != value:
                return None
            params[name] = value
        if base.min_mask_region_area not in self.areas:
            return None
        params["min_mask_region_area"] = base.min_mask_region_area
        if len(self.offsets) > 1:
            params["stability_score_offset"] = float(base.stability_score_offset)
        if len(self.plan_configs) > 1:
            index = plan_of(base, self.plan_configs, image_size)
            if index is None:
                return None
            params["plan"] = self.labels[index]
        return params


def run_study(
    proposals: Proposals,
    score: Callable[[int, AmgConfig, int], float],
    trials: int,
    seed: int,
    start: dict[str, object] | None = None,
    on_trial: Callable[[int, int, float], None] | None = None,
) -> None:
    """Optuna's seeded TPE search: `score(plan index, setting, trial number)` for each of `trials` proposals.

    `start` (Optuna parameters) is the first trial when given; `on_trial(done, total, best)` reports each.
    """
    import optuna

    best = -math.inf
    done = 0

    def objective_function(trial: optuna.Trial) -> float:
        nonlocal best, done
        plan_index, config = proposals.propose(trial)
        value = score(plan_index, config, trial.number)
        best, done = max(best, value), done + 1
        if on_trial is not None:
            on_trial(done, trials, best)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    if start is not None:
        study.enqueue_trial(start)
    study.optimize(objective_function, n_trials=trials)


def tune(
    model: torch.nn.Module,
    image: np.ndarray,
    reference: Reference,
    objective: Objective,
    base: AmgConfig | None = None,
    space: SearchSpace | None = None,
    trials: int = 100,
    seed: int = 0,
    cache: ComparisonCache | None = None,
    progress: ProgressCallback | None = None,
    on_trial: Callable[[int, int, float], None] | None = None,
) -> TuneResult:
    """Search settings for the best `objective` on `image` against `reference` (ground truth or marks).

    `base` (SAM's defaults when None) gives every parameter that is not searched, and is scored
    first. `on_trial(done, total, best_value)` reports the search's progress, `progress` the decodes'.
    """
    base = base if base is not None else AmgConfig()
    space = space if space is not None else SearchSpace()
    check_request(objective, reference, trials)
    thresholds = _iou_thresholds(objective, reference)
    image_size = (int(image.shape[0]), int(image.shape[1]))
    plan_configs = plans(base, space)
    offsets = search_offsets(base, space)
    tick = time.perf_counter()
    scorers = decode_plans(
        model, image, reference, plan_configs, search_floor(base, space), offsets, thresholds, cache, progress
    )
    decode_seconds = time.perf_counter() - tick

    tick = time.perf_counter()
    base_plan = plan_of(base, plan_configs, image_size)
    if base_plan is None:
        base_candidates = setting_candidates(model, image, base, cache=cache, progress=progress)
        base_scorer = PoolScorer(base_candidates, reference, thresholds)
    else:
        base_scorer = scorers[base_plan]
    _, base_metrics = base_scorer.score(base)
    base_trial = Trial(-1, base, objective.score(base_metrics), base_metrics)

    proposals = Proposals(tuple(plan_configs), space, tuple(space.area_values(image_size)), offsets)
    found: list[Trial] = []

    def score(plan_index: int, config: AmgConfig, number: int) -> float:
        _, metrics = scorers[plan_index].score(config)
        found.append(Trial(number, config, objective.score(metrics), metrics))
        return found[-1].value

    run_study(proposals, score, trials, seed, proposals.start(base, image_size), on_trial)
    return TuneResult(objective, base_trial, tuple(found), seed, time.perf_counter() - tick, decode_seconds)


@dataclass(frozen=True)
class Reproduction:
    """A setting scored through the official generator: what `evaluate` gives."""

    config: AmgConfig
    value: float
    masks: int
    metrics: SettingMetrics | MarksMetrics = field(repr=False)


def reproduce(
    model: torch.nn.Module, image: np.ndarray, reference: Reference, objective: Objective, config: AmgConfig
) -> Reproduction:
    """Run `config` through the official generator, then its post-filters if any; score it as `evaluate` does."""
    from samcompare.engine.postfilters import official_then_post_filters
    from samcompare.evaluation.marks import evaluate_marks
    from samcompare.evaluation.metrics import evaluate_run

    records = official_then_post_filters(model, image, config)
    if isinstance(reference, GroundTruth):
        metrics: SettingMetrics | MarksMetrics = evaluate_run(
            records, reference, _iou_thresholds(objective, reference), setting=config.name
        )
    else:
        metrics = evaluate_marks(records, reference, objective.iou_threshold, setting=config.name)
    return Reproduction(config, objective.score(metrics), len(records), metrics)
