"""Which setting is best over many images: a seeded search on training images, checked on held-out ones.

Each training image is read and decoded once (once per plan when the search widens to
`points_per_side` or `crop_n_layers`) into a candidate pool; the network never runs again during
the search. A trial filters every pool with the official filters and scores it against the
image's ground truth; its value is the objective's mean over the training images. F1 and recall
need only the one-to-one matching at one IoU threshold, so a trial costs a few milliseconds per
image (`PoolScorer.value`).

Memory, stated and bounded: a pool keeps, of each candidate, its scores and box (a few dozen
bytes) and, only where some setting of the search could keep it (above the lowest
`pred_iou_thresh` and `stability_score_thresh` searched, away from crop edges), its mask as RLE
counts; then an IoU row against the objects for each mask a trial kept, and the masks the
small-region clean-up changed. Pixels and the network's outputs are dropped after each decode.
`pool_bytes` reports each image's cost; the search stops with a message, before running, when
the pools would pass `max_pool_bytes`.

Validation images are run afterwards, one at a time, through `compare` with the start and the
best setting, and scored with `evaluate_run`: each validation row is what `python -m samcompare
evaluate` gives for that image and setting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from samcompare.config import AmgConfig, ConfigError
from samcompare.evaluation.ground_truth import GroundTruthError
from samcompare.evaluation.metrics import (
    DEFAULT_IOU_THRESHOLDS,
    SettingMetrics,
    check_thresholds,
    evaluate_run,
    metrics_columns,
)
from samcompare.evaluation.paired import PairedComparison, compare_paired
from samcompare.tuning.dataset import TRAINING, VALIDATION, DatasetError, DatasetImage, DatasetSplit
from samcompare.tuning.objectives import Objective, ObjectiveError
from samcompare.tuning.scoring import PoolScorer
from samcompare.tuning.search import (
    SEARCHED,
    Proposals,
    SearchSpace,
    decode_plans,
    plan_of,
    plans,
    run_study,
    search_floor,
    search_offsets,
)

DEFAULT_MAX_POOL_BYTES = 2 * 2**30  # the pools of every training image together


@dataclass(frozen=True)
class DatasetProgress:
    """Where a dataset search is: decoding, searching or validating, how far, and on what."""

    stage: str  # "decode", "search" or "validate"
    done: int
    total: int
    detail: str = ""  # the image's name, or the best value so far

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressFunction = Callable[[DatasetProgress], None]


@dataclass(frozen=True)
class DatasetTrial:
    """One tried setting and its mean objective over the training images."""

    number: int
    config: AmgConfig
    value: float
    masks_mean: float


@dataclass(frozen=True, eq=False)
class ImageScores:
    """One image's metrics under the start and under the best setting."""

    image: str
    ground_truth: str
    part: str  # TRAINING or VALIDATION
    start: SettingMetrics
    best: SettingMetrics


@dataclass(eq=False)
class ImagePool:
    """One training image's decoded candidates, one scorer per plan, and the scorer of the start's plan."""

    image: DatasetImage
    image_size: tuple[int, int]
    scorers: list[PoolScorer]
    start_scorer: PoolScorer

    @property
    def nbytes(self) -> int:
        extra = [] if any(s is self.start_scorer for s in self.scorers) else [self.start_scorer]
        return sum(scorer.nbytes for scorer in [*self.scorers, *extra])


def _megabytes(count: float) -> str:
    return f"{count / 2**20:,.1f} MiB" if count < 2**30 else f"{count / 2**30:,.2f} GiB"


@dataclass(frozen=True, eq=False)
class DatasetTuneResult:
    """A finished dataset search: every trial, the best setting, and both settings image by image."""

    objective: Objective
    start: AmgConfig
    best: AmgConfig  # the best trial's setting, named "tuned <objective>"
    best_trial: DatasetTrial
    start_value: float  # the start's mean objective over the training images
    trials: tuple[DatasetTrial, ...]
    seed: int
    iou_thresholds: tuple[float, ...]
    split: str  # how the images were split
    training: tuple[ImageScores, ...]
    validation: tuple[ImageScores, ...]
    skipped: tuple[tuple[str, str], ...]  # (image, why) for images that could not be used
    pool_bytes: tuple[int, ...] = field(repr=False)  # per training image, after the search
    decode_seconds: float
    search_seconds: float
    validation_seconds: float

    def trials_frame(self) -> pd.DataFrame:
        """trials.csv: one row per trial, its parameters and its training score."""
        rows = []
        for trial in self.trials:
            row: dict[str, object] = {"trial": trial.number, "value": trial.value, "masks_mean": trial.masks_mean}
            row.update({name: getattr(trial.config, name) for name in SEARCHED})
            rows.append(row)
        return pd.DataFrame(rows, columns=["trial", "value", "masks_mean", *SEARCHED])

    def scores_frame(self, part: str = VALIDATION) -> pd.DataFrame:
        """One row per image of `part` and setting (start, then best): the image, then metrics.csv's columns."""
        rows = []
        for scores in self.training if part == TRAINING else self.validation:
            for metrics in (scores.start, scores.best):
                rows.append({"image": scores.image, **metrics.row(self.iou_thresholds)})
        return pd.DataFrame(rows, columns=["image", *metrics_columns(self.iou_thresholds)])

    def values(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """The objective per image of `part`: (start, best)."""
        scores = self.training if part == TRAINING else self.validation
        start = np.array([self.objective.score(s.start) for s in scores], dtype=np.float64)
        best = np.array([self.objective.score(s.best) for s in scores], dtype=np.float64)
        return start, best

    def paired(self, part: str = VALIDATION) -> PairedComparison:
        """The best against the start on the images of `part`, image by image."""
        start, best = self.values(part)
        return compare_paired(best, start, self.best.name, self.start.name, self.objective.name, seed=self.seed)

    def summary_lines(self) -> list[str]:
        """What the CLI prints after the search: costs, the means, and the verdict on the held-out images."""
        pools = self.pool_bytes
        lines = [
            f"decoded {len(self.training)} training images in {self.decode_seconds:.1f} s; candidate pools "
            f"{_megabytes(float(np.mean(pools)))} per image on average (largest {_megabytes(max(pools))}), "
            f"{_megabytes(sum(pools))} in all",
            f"{len(self.trials)} trials in {self.search_seconds:.1f} s",
        ]
        for part in (TRAINING, VALIDATION):
            start, best = self.values(part)
            if len(start):
                lines.append(
                    f"{part}: mean {self.objective.name} {start.mean():.3f} for {self.start.name!r}, "
                    f"{best.mean():.3f} for {self.best.name!r} ({len(start)} images)"
                )
        for part in (TRAINING, VALIDATION) if self.validation else (TRAINING,):
            lines.append(f"{part}: {self.paired(part).verdict()}")
        if not self.validation:
            lines.append("no validation images: the training score alone says little about other images")
        return lines


def _median_size(sizes: Sequence[tuple[int, int]]) -> tuple[int, int]:
    ordered = sorted(sizes, key=lambda size: (size[0] * size[1], size))
    return ordered[(len(ordered) - 1) // 2]


def build_pools(
    model: torch.nn.Module,
    images: Sequence[DatasetImage],
    objective: Objective,
    base: AmgConfig,
    space: SearchSpace,
    iou_thresholds: Sequence[float],
    max_pool_bytes: int = DEFAULT_MAX_POOL_BYTES,
    on_progress: ProgressFunction | None = None,
) -> tuple[list[ImagePool], list[tuple[str, str]]]:
    """Read and decode each image once, keep only what the search can use; the pools and the images skipped."""
    from samcompare.engine import setting_candidates
    from samcompare.images import ImageLoadError

    plan_configs = plans(base, space)
    floor = search_floor(base, space)
    stability_floor = min(space.stability_score_thresh[0], base.stability_score_thresh)
    offsets = search_offsets(base, space)
    pools: list[ImagePool] = []
    skipped: list[tuple[str, str]] = []
    for index, image in enumerate(images):
        if on_progress is not None:
            on_progress(DatasetProgress("decode", index, len(images), image.name))
        try:
            pixels, truth = image.load()
        except (ImageLoadError, GroundTruthError, OSError) as error:
            skipped.append((image.name, str(error)))
            continue
        size = (int(pixels.shape[0]), int(pixels.shape[1]))
        scorers = decode_plans(model, pixels, truth, plan_configs, floor, offsets, iou_thresholds)
        start_index = plan_of(base, plan_configs, size)
        if start_index is None:
            start_scorer = PoolScorer(setting_candidates(model, pixels, base), truth, iou_thresholds)
        else:
            start_scorer = scorers[start_index]
        for scorer in {id(s): s for s in [*scorers, start_scorer]}.values():
            scorer.keep_reachable(floor, stability_floor)
        del pixels
        pools.append(ImagePool(image, size, scorers, start_scorer))
        used = sum(pool.nbytes for pool in pools)
        projected = used + used / len(pools) * (len(images) - index - 1)
        if projected > max_pool_bytes:
            raise DatasetError(
                f"the candidate pools would take about {_megabytes(projected)} for {len(images)} images "
                f"({_megabytes(used / len(pools))} each), over the limit of {_megabytes(max_pool_bytes)}: use fewer "
                "or smaller images, fewer points per side, or a higher limit"
            )
    if on_progress is not None:
        on_progress(DatasetProgress("decode", len(images), len(images)))
    return pools, skipped


def search_pools(
    pools: Sequence[ImagePool],
    objective: Objective,
    base: AmgConfig,
    space: SearchSpace,
    trials: int,
    seed: int,
    on_progress: ProgressFunction | None = None,
) -> tuple[float, tuple[DatasetTrial, ...]]:
    """The start's mean objective over the pools, and every trial of the seeded search (the start first)."""
    plan_configs = plans(base, space)
    areas = space.area_values(_median_size([pool.image_size for pool in pools]))
    proposals = Proposals(tuple(plan_configs), space, tuple(areas), search_offsets(base, space))
    start_value = float(np.mean([pool.start_scorer.value(base, objective)[0] for pool in pools]))
    found: list[DatasetTrial] = []

    def score(plan_index: int, config: AmgConfig, number: int) -> float:
        values = [pool.scorers[plan_index].value(config, objective) for pool in pools]
        found.append(
            DatasetTrial(number, config, float(np.mean([v for v, _ in values])), float(np.mean([m for _, m in values])))
        )
        return found[-1].value

    def report(done: int, total: int, best: float) -> None:
        if on_progress is not None:
            on_progress(DatasetProgress("search", done, total, f"best {objective.name} {best:.3f}"))

    run_study(proposals, score, trials, seed, proposals.start(base, pools[0].image_size), report)
    return start_value, tuple(found)


def _metrics(scorer: PoolScorer, config: AmgConfig) -> SettingMetrics:
    metrics = scorer.score(config)[1]
    assert isinstance(metrics, SettingMetrics)  # the pools hold ground truth
    return metrics


def training_scores(
    pool: ImagePool, start: AmgConfig, best: AmgConfig, plan_configs: Sequence[AmgConfig]
) -> ImageScores:
    """Both settings' full metrics on a training image, from its pool: what `evaluate` gives (tested)."""
    index = plan_of(best, plan_configs, pool.image_size)
    assert index is not None  # the best is a trial, on one of the plans
    return ImageScores(
        pool.image.name,
        pool.image.ground_truth,
        TRAINING,
        _metrics(pool.start_scorer, start),
        _metrics(pool.scorers[index], best),
    )


def best_trial(trials: Sequence[DatasetTrial]) -> DatasetTrial:
    """The highest mean; the earliest among equals."""
    return sorted(trials, key=lambda t: (-t.value, t.number))[0]


def tuned_name(objective: Objective, start: AmgConfig, trial: DatasetTrial) -> str:
    name = f"tuned {objective.name}"
    return name if name != start.name else f"{name} #{trial.number}"


def validate(
    model: torch.nn.Module,
    images: Sequence[DatasetImage],
    start: AmgConfig,
    best: AmgConfig,
    iou_thresholds: Sequence[float],
    on_progress: ProgressFunction | None = None,
) -> tuple[list[ImageScores], list[tuple[str, str]]]:
    """Both settings on each image as `evaluate` runs them (`compare`, `evaluate_run`); the scores, the skipped."""
    from samcompare.engine import compare
    from samcompare.images import ImageLoadError

    scores: list[ImageScores] = []
    skipped: list[tuple[str, str]] = []
    for index, image in enumerate(images):
        if on_progress is not None:
            on_progress(DatasetProgress("validate", index, len(images), image.name))
        try:
            pixels, truth = image.load()
        except (ImageLoadError, GroundTruthError, OSError) as error:
            skipped.append((image.name, str(error)))
            continue
        start_result, best_result = compare(model, pixels, [start, best])
        scores.append(
            ImageScores(
                image.name,
                image.ground_truth,
                VALIDATION,
                evaluate_run(start_result, truth, iou_thresholds),
                evaluate_run(best_result, truth, iou_thresholds),
            )
        )
    if on_progress is not None:
        on_progress(DatasetProgress("validate", len(images), len(images)))
    return scores, skipped


def report_thresholds(objective: Objective, iou_thresholds: Sequence[float]) -> tuple[float, ...]:
    """The IoU thresholds of the tables: those asked for, and the objective's own after them."""
    thresholds = list(check_thresholds(iou_thresholds))
    if objective.kind != "ap" and not any(math.isclose(t, objective.iou_threshold) for t in thresholds):
        thresholds.append(objective.iou_threshold)
    return check_thresholds(thresholds)


def tune_dataset(
    model: torch.nn.Module,
    split: DatasetSplit,
    objective: Objective,
    base: AmgConfig | None = None,
    space: SearchSpace | None = None,
    trials: int = 100,
    seed: int = 0,
    iou_thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS,
    max_pool_bytes: int = DEFAULT_MAX_POOL_BYTES,
    on_progress: ProgressFunction | None = None,
) -> DatasetTuneResult:
    """Search the setting with the best mean `objective` over `split.training`, then score it on `split.validation`.

    `base` (SAM's defaults when None) gives every parameter the search leaves alone and is the first
    trial when it lies in the space.
    """
    base = base if base is not None else AmgConfig()
    space = space if space is not None else SearchSpace()
    if trials < 1:
        raise ConfigError("trials", f"must be at least 1, got {trials}")
    if objective.needs_marks:
        raise ObjectiveError("agreement is measured against marked masks; over a folder use f1, recall or ap")
    thresholds = report_thresholds(objective, iou_thresholds)

    tick = time.perf_counter()
    pools, skipped = build_pools(model, split.training, objective, base, space, thresholds, max_pool_bytes, on_progress)
    if not pools:
        raise DatasetError("no training image could be used: " + "; ".join(f"{n}: {why}" for n, why in skipped))
    decode_seconds = time.perf_counter() - tick

    tick = time.perf_counter()
    start_value, found = search_pools(pools, objective, base, space, trials, seed, on_progress)
    search_seconds = time.perf_counter() - tick
    winner = best_trial(found)
    best = winner.config.replace(name=tuned_name(objective, base, winner))
    training = tuple(training_scores(pool, base, best, plans(base, space)) for pool in pools)
    pool_bytes = tuple(pool.nbytes for pool in pools)
    del pools  # the validation decodes one image at a time, beside nothing of the search

    tick = time.perf_counter()
    validation, skipped_validation = validate(model, split.validation, base, best, thresholds, on_progress)
    return DatasetTuneResult(
        objective=objective,
        start=base,
        best=best,
        best_trial=winner,
        start_value=start_value,
        trials=found,
        seed=seed,
        iou_thresholds=thresholds,
        split=split.description,
        training=training,
        validation=tuple(validation),
        skipped=tuple(skipped + skipped_validation),
        pool_bytes=pool_bytes,
        decode_seconds=decode_seconds,
        search_seconds=search_seconds,
        validation_seconds=time.perf_counter() - tick,
    )
