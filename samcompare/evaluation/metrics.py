"""How well one setting's masks find the ground-truth objects: matching metrics and COCO AP/AR.

Every figure is computed from one matrix, the mask IoU of each of the setting's masks (rows) with
each object (columns), plus the masks' scores and areas. So a caller that evaluates many subsets
of one pool of masks (the tuner) computes the IoUs once and passes the rows it keeps to
`evaluate_from_ious`; `evaluate_run` does the same for a whole run.

Definitions (M masks, G objects, a threshold t):
- matching: one-to-one, pairs need IoU >= t; the most pairs possible, and of those the largest
  summed IoU (Hungarian method). `matched` is the number of pairs.
- precision = matched / M (NaN without masks); recall = matched / G (NaN without objects);
  F1 = 2 matched / (M + G), their harmonic mean, 0 when either side is empty.
- mean matched IoU: the mean IoU of the pairs (NaN without pairs).
- mean best IoU: per object the best IoU any mask has with it (0 without masks), averaged.
- recall by object size: COCO's limits (small < 32^2 px, medium < 96^2 px, large from 96^2 px)
  scaled by the image's area over 640 x 480 (a typical COCO image), so a 1024 x 1024 image's
  small objects are below about 3,500 px.
- AP and AR: pycocotools' COCOeval for segmentation, class-agnostic (every object and mask has
  category 1), predicted_iou as the score: AP is the mean precision over IoU 0.50:0.05:0.95 and
  101 recall points, AR the mean recall over the same IoUs (COCO's headline AP and AR, all sizes).
  COCO caps detections at 100 per image; the generator often returns more, so the cap here is
  `MAX_DETECTIONS` (1000, as SAM's paper reports AR@1000 for its proposals): the masks a setting
  returns are judged all, not its 100 best-scored.
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pycocotools import mask as mask_utils
from pycocotools.cocoeval import COCOeval

from samcompare.evaluation.ground_truth import GroundTruth, size_mismatch
from samcompare.results.masks import HasRecords, Records, RunMasks, as_run_masks
from samcompare.results.matching import MatchedPair, one_to_one

DEFAULT_IOU_THRESHOLDS = (0.5, 0.75)
MAX_DETECTIONS = 1000
COCO_IMAGE_AREA = 640 * 480
COCO_SMALL_AREA = 32**2  # below: small
COCO_LARGE_AREA = 96**2  # from here: large
SIZE_GROUPS = ("small", "medium", "large")

Numbers = Sequence[float] | np.ndarray  # one value per mask or object


def check_thresholds(iou_thresholds: Sequence[float]) -> tuple[float, ...]:
    """The thresholds as floats, each in (0, 1], with distinct column suffixes."""
    thresholds = tuple(float(t) for t in iou_thresholds)
    if not thresholds:
        raise ValueError("give at least one IoU threshold")
    for threshold in thresholds:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"an IoU threshold must be in (0, 1], got {threshold:g}")
    suffixes = [threshold_suffix(t) for t in thresholds]
    if len(set(suffixes)) != len(suffixes):
        raise ValueError(f"IoU thresholds {', '.join(f'{t:g}' for t in thresholds)} give the same column twice")
    return thresholds


def threshold_suffix(threshold: float) -> str:
    """Column suffix of a threshold: 0.5 -> "50", 0.6 -> "60"."""
    return str(round(threshold * 100))


def metrics_columns(iou_thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS) -> list[str]:
    """The metrics.csv columns: one group of four per threshold asked."""
    columns = ["setting", "gt_objects", "masks"]
    for threshold in check_thresholds(iou_thresholds):
        suffix = threshold_suffix(threshold)
        columns += [f"matched_{suffix}", f"precision_{suffix}", f"recall_{suffix}", f"f1_{suffix}"]
    return [*columns, "mean_best_iou", "ap", "ar"]


def mask_ious(pred_rles: Sequence[dict[str, Any]], gt: GroundTruth) -> np.ndarray:
    """(M, G) mask IoU of each predicted mask (compressed COCO RLE) with each object (pycocotools, iscrowd 0)."""
    for rle in pred_rles:
        size = (int(rle["size"][0]), int(rle["size"][1]))
        if size != gt.image_size:
            raise size_mismatch(gt.image_size, size)
    if not pred_rles or not len(gt):
        return np.zeros((len(pred_rles), len(gt)), dtype=np.float64)
    ious = mask_utils.iou(list(pred_rles), list(gt.objects), [0] * len(gt))
    return np.asarray(ious, dtype=np.float64).reshape(len(pred_rles), len(gt))


def size_limits(image_size: Sequence[int]) -> tuple[float, float]:
    """(small below, large from) in pixels: COCO's 32^2 and 96^2 scaled by the image's area over 640 x 480."""
    scale = int(image_size[0]) * int(image_size[1]) / COCO_IMAGE_AREA
    return COCO_SMALL_AREA * scale, COCO_LARGE_AREA * scale


def size_groups(areas: np.ndarray, image_size: Sequence[int]) -> np.ndarray:
    """Index into SIZE_GROUPS of each object area."""
    small_below, large_from = size_limits(image_size)
    values = np.asarray(areas, dtype=np.float64)
    return np.where(values < small_below, 0, np.where(values < large_from, 1, 2))


@dataclass(frozen=True)
class GroundTruthMatch:
    """A one-to-one matching of masks to objects at one IoU threshold.

    Pairs reuse `MatchedPair`: `a_id` is the mask (a row of the IoU matrix: the record index for a
    whole run), `b_id` the object (its index in `GroundTruth.objects`).
    """

    iou_threshold: float
    pairs: tuple[MatchedPair, ...]  # best IoU first
    false_masks: tuple[int, ...]  # masks matched to no object
    missed_objects: tuple[int, ...]  # objects matched by no mask

    @property
    def found_objects(self) -> tuple[int, ...]:
        return tuple(sorted(pair.b_id for pair in self.pairs))


def match_to_ground_truth(ious: np.ndarray, iou_threshold: float) -> GroundTruthMatch:
    """The most pairs with IoU >= `iou_threshold`, then the largest summed IoU (see the module docstring)."""
    matrix = np.asarray(ious, dtype=np.float64)
    assigned = one_to_one(matrix, iou_threshold, most_pairs=True)
    pairs = sorted((MatchedPair(m, g, float(matrix[m, g])) for m, g in assigned), key=lambda p: (-p.iou, p.a_id))
    matched_masks = {pair.a_id for pair in pairs}
    matched_objects = {pair.b_id for pair in pairs}
    return GroundTruthMatch(
        iou_threshold=float(iou_threshold),
        pairs=tuple(pairs),
        false_masks=tuple(m for m in range(matrix.shape[0]) if m not in matched_masks),
        missed_objects=tuple(g for g in range(matrix.shape[1]) if g not in matched_objects),
    )


def recall_curve(ious: np.ndarray, iou_thresholds: Sequence[float]) -> np.ndarray:
    """Recall of the one-to-one matching at each threshold (NaN without objects)."""
    matrix = np.asarray(ious, dtype=np.float64)
    if matrix.shape[1] == 0:
        return np.full(len(iou_thresholds), np.nan)
    return np.array([len(one_to_one(matrix, t, most_pairs=True)) / matrix.shape[1] for t in iou_thresholds])


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


@dataclass(frozen=True)
class SizeRecall:
    """Recall among the objects of one size group."""

    group: str  # "small", "medium" or "large"
    objects: int
    matched: int

    @property
    def recall(self) -> float:
        return _ratio(self.matched, self.objects)


@dataclass(frozen=True)
class ThresholdMetrics:
    """The matching metrics at one IoU threshold."""

    iou_threshold: float
    matched: int
    precision: float
    recall: float
    f1: float
    mean_matched_iou: float
    recall_by_size: tuple[SizeRecall, ...]  # small, medium, large
    match: GroundTruthMatch


@dataclass(frozen=True)
class SettingMetrics:
    """Everything one setting scores against one image's ground truth."""

    setting: str
    gt_objects: int
    masks: int
    thresholds: tuple[ThresholdMetrics, ...]  # in the order asked
    mean_best_iou: float
    best_ious: tuple[float, ...]  # per object: the best IoU any mask has with it
    ap: float  # COCO AP@[.50:.95] (NaN without objects)
    ar: float  # COCO AR@[.50:.95] at MAX_DETECTIONS (NaN without objects)

    @property
    def iou_thresholds(self) -> tuple[float, ...]:
        return tuple(metrics.iou_threshold for metrics in self.thresholds)

    def at(self, iou_threshold: float) -> ThresholdMetrics:
        """The metrics at a threshold that was asked for."""
        for metrics in self.thresholds:
            if math.isclose(metrics.iou_threshold, iou_threshold, abs_tol=1e-9):
                return metrics
        asked = ", ".join(f"{t:g}" for t in self.iou_thresholds)
        raise KeyError(f"IoU {iou_threshold:g} was not evaluated; these were: {asked}")

    def row(self, iou_thresholds: Sequence[float] | None = None) -> dict[str, Any]:
        """One metrics.csv row (`metrics_columns`), for the thresholds given (all evaluated ones by default)."""
        thresholds = self.iou_thresholds if iou_thresholds is None else check_thresholds(iou_thresholds)
        row: dict[str, Any] = {"setting": self.setting, "gt_objects": self.gt_objects, "masks": self.masks}
        for threshold in thresholds:
            metrics, suffix = self.at(threshold), threshold_suffix(threshold)
            row[f"matched_{suffix}"] = metrics.matched
            row[f"precision_{suffix}"] = metrics.precision
            row[f"recall_{suffix}"] = metrics.recall
            row[f"f1_{suffix}"] = metrics.f1
        row.update(mean_best_iou=self.mean_best_iou, ap=self.ap, ar=self.ar)
        return row

    def size_table(self) -> pd.DataFrame:
        """Recall by object size: one row per threshold, a matched/objects pair and a recall per size group."""
        rows = []
        for metrics in self.thresholds:
            row: dict[str, Any] = {"iou_threshold": metrics.iou_threshold}
            for size in metrics.recall_by_size:
                row[f"{size.group}_objects"] = size.objects
                row[f"{size.group}_matched"] = size.matched
                row[f"{size.group}_recall"] = size.recall
            rows.append(row)
        return pd.DataFrame(rows)


def metrics_table(metrics: Sequence[SettingMetrics], iou_thresholds: Sequence[float] | None = None) -> pd.DataFrame:
    """One row per setting, the metrics.csv columns (thresholds: those of the first setting by default)."""
    thresholds = (
        check_thresholds(iou_thresholds)
        if iou_thresholds is not None
        else (metrics[0].iou_thresholds if metrics else DEFAULT_IOU_THRESHOLDS)
    )
    return pd.DataFrame([m.row(thresholds) for m in metrics], columns=metrics_columns(thresholds))


class _GivenIouEval(COCOeval):
    """COCOeval on one image and one category whose mask IoUs are given instead of computed from masks.

    COCOeval asks `computeIoU` for the IoUs of the detections sorted by score (a stable mergesort,
    highest first) and cut to maxDets, against the ground truth in its stored order: this returns
    the given matrix's rows in that very order. Everything else (greedy matching by score at each
    IoU, 101-point interpolated precision, recall) is pycocotools' own code.
    """

    def __init__(
        self, ious: np.ndarray, scores: np.ndarray, pred_areas: np.ndarray, gt_areas: np.ndarray, max_detections: int
    ) -> None:
        super().__init__(iouType="segm")
        self.given_ious = ious
        self.scores = scores
        self.pred_areas = pred_areas
        self.gt_areas = gt_areas
        params = self.params
        params.imgIds, params.catIds = [1], [1]
        params.maxDets = [int(max_detections)]
        params.areaRng, params.areaRngLbl = [[0.0, float("inf")]], ["all"]

    def _prepare(self) -> None:
        gts = [
            {"id": index + 1, "image_id": 1, "category_id": 1, "area": float(area), "iscrowd": 0, "ignore": 0}
            for index, area in enumerate(self.gt_areas)
        ]
        dts = [
            {"id": index + 1, "image_id": 1, "category_id": 1, "area": float(area), "score": float(score)}
            for index, (area, score) in enumerate(zip(self.pred_areas, self.scores, strict=True))
        ]
        self._gts, self._dts = defaultdict(list), defaultdict(list)
        self._gts[1, 1], self._dts[1, 1] = gts, dts
        self.evalImgs: Any = defaultdict(list)
        self.eval: dict[str, Any] = {}

    def computeIoU(self, imgId: int, catId: int) -> Any:  # noqa: N802, N803 - pycocotools' names
        if len(self.scores) == 0 or len(self.gt_areas) == 0:
            return []  # what maskUtils.iou returns when either side is empty
        order = np.argsort(-np.asarray(self.scores, dtype=np.float64), kind="mergesort")
        return self.given_ious[order[: self.params.maxDets[-1]]]


# COCOeval prints its progress; stdout is swapped while it runs, one evaluation at a time, so
# that concurrent sessions (the app's threads) never restore each other's stream.
_STDOUT_LOCK = threading.Lock()


def coco_ap_ar(
    ious: np.ndarray,
    scores: Numbers,
    pred_areas: Numbers,
    gt_areas: Numbers,
    max_detections: int = MAX_DETECTIONS,
) -> tuple[float, float]:
    """COCO AP@[.50:.95] and AR@[.50:.95] (all sizes, `max_detections`) from (M, G) IoUs; NaN without objects."""
    matrix = np.asarray(ious, dtype=np.float64).reshape(len(scores), len(gt_areas))
    if len(gt_areas) == 0:
        return float("nan"), float("nan")
    evaluator = _GivenIouEval(
        matrix,
        np.asarray(scores, dtype=np.float64),
        np.asarray(pred_areas, dtype=np.float64),
        np.asarray(gt_areas, dtype=np.float64),
        max_detections,
    )
    with _STDOUT_LOCK, contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][:, :, 0, 0, 0]  # T x R, one category, area "all", one maxDets
    recall = evaluator.eval["recall"][:, 0, 0, 0]
    ap = float(np.mean(precision[precision > -1])) if (precision > -1).any() else float("nan")
    ar = float(np.mean(recall[recall > -1])) if (recall > -1).any() else float("nan")
    return ap, ar


def evaluate_from_ious(
    ious: np.ndarray,
    scores: Numbers,
    pred_areas: Numbers,
    gt: GroundTruth,
    iou_thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS,
    setting: str = "setting",
    pred_rles: Sequence[dict[str, Any]] | None = None,
    max_detections: int = MAX_DETECTIONS,
    coco: bool = True,
) -> SettingMetrics:
    """Every metric of a set of masks from their (M, G) IoU rows against `gt`, their scores and areas.

    Rows are masks in any order (a subset of a larger pool is fine); matches name masks by row.
    `pred_rles`, when given, are the masks themselves: they are checked to be one per row and of
    the ground truth's size, which catches rows and masks that went out of step. Without `coco`,
    AP and AR are left out (NaN): a search that maximises F1 need not pay for COCOeval each trial.
    """
    thresholds = check_thresholds(iou_thresholds)
    score_array = np.asarray(scores, dtype=np.float64).reshape(-1)
    area_array = np.asarray(pred_areas, dtype=np.float64).reshape(-1)
    count, objects = len(score_array), len(gt)
    matrix = np.asarray(ious, dtype=np.float64)
    if matrix.size == 0:
        matrix = matrix.reshape(count, objects)
    if matrix.shape != (count, objects) or len(area_array) != count:
        raise ValueError(
            f"IoU matrix {matrix.shape}, {count} scores and {len(area_array)} areas do not fit "
            f"{count} masks and {objects} objects"
        )
    if pred_rles is not None:
        if len(pred_rles) != count:
            raise ValueError(f"{len(pred_rles)} masks given for an IoU matrix of {count} rows")
        for rle in pred_rles:
            size = (int(rle["size"][0]), int(rle["size"][1]))
            if size != gt.image_size:
                raise size_mismatch(gt.image_size, size)
    groups = size_groups(gt.areas, gt.image_size)
    per_threshold = []
    for threshold in thresholds:
        match = match_to_ground_truth(matrix, threshold)
        matched = len(match.pairs)
        found = np.zeros(objects, dtype=bool)
        found[list(match.found_objects)] = True
        by_size = tuple(
            SizeRecall(name, int((groups == index).sum()), int(found[groups == index].sum()))
            for index, name in enumerate(SIZE_GROUPS)
        )
        per_threshold.append(
            ThresholdMetrics(
                iou_threshold=threshold,
                matched=matched,
                precision=_ratio(matched, count),
                recall=_ratio(matched, objects),
                f1=_ratio(2 * matched, count + objects),
                mean_matched_iou=float(np.mean([p.iou for p in match.pairs])) if match.pairs else float("nan"),
                recall_by_size=by_size,
                match=match,
            )
        )
    best = matrix.max(axis=0) if count else np.zeros(objects)
    ap, ar = coco_ap_ar(matrix, score_array, area_array, gt.areas, max_detections) if coco else (math.nan, math.nan)
    return SettingMetrics(
        setting=setting,
        gt_objects=objects,
        masks=count,
        thresholds=tuple(per_threshold),
        mean_best_iou=float(best.mean()) if objects else float("nan"),
        best_ious=tuple(float(v) for v in best),
        ap=ap,
        ar=ar,
    )


def run_scores(masks: RunMasks) -> np.ndarray:
    """predicted_iou of each mask of a run, in record order (the score COCO AP ranks by)."""
    return np.array([float(record.get("predicted_iou", float("nan"))) for record in masks.records], dtype=np.float64)


def run_masks_for(run: HasRecords | Records | RunMasks, gt: GroundTruth) -> RunMasks:
    """The run's masks (an empty record list is of the ground truth's size); the size message when sizes differ."""
    if isinstance(run, RunMasks):
        masks = run
    elif isinstance(run, Sequence) and len(run) == 0:
        masks = RunMasks(run, gt.image_size)
    else:
        masks = as_run_masks(run)
    if masks.image_shape != gt.image_size:
        raise size_mismatch(gt.image_size, masks.image_shape)
    return masks


def run_ious(run: HasRecords | Records | RunMasks, gt: GroundTruth) -> np.ndarray:
    """(M, G) IoU of a run's masks (record order) with the objects."""
    return mask_ious(run_masks_for(run, gt).coco_rles(), gt)


def evaluate_run(
    run: HasRecords | Records | RunMasks,
    gt: GroundTruth,
    iou_thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS,
    setting: str | None = None,
    max_detections: int = MAX_DETECTIONS,
) -> SettingMetrics:
    """The metrics of a run (the engine's `RunResult`, a `RunMasks` or generator records, any output mode).

    Masks are named by record index; the setting's name defaults to the run's config name.
    """
    masks = run_masks_for(run, gt)
    name = setting if setting is not None else (masks.config.name if masks.config is not None else "setting")
    return evaluate_from_ious(
        mask_ious(masks.coco_rles(), gt),
        run_scores(masks),
        masks.areas(),
        gt,
        iou_thresholds,
        setting=name,
        pred_rles=masks.coco_rles(),
        max_detections=max_detections,
    )
