"""Metrics of any setting filtered from one candidate pool, each mask's IoUs with the reference computed once.

The tuner tries hundreds of settings on one decode. Each try is `filter_setting` (the official
filters, exact) and metrics from IoU rows: a mask the small-region clean-up left alone is its
candidate's own mask, whose row is computed the first time any setting keeps it; a cleaned mask
gets its own row per minimum area. So a trial costs milliseconds, and its figures are those of
`evaluate_run` on the same masks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from pycocotools import mask as mask_utils

from samcompare.config import AmgConfig
from samcompare.engine import RunResult, SettingCandidates, filter_setting
from samcompare.engine.candidates import above_floor, processing_floor
from samcompare.engine.filtering import CleanupMemo
from samcompare.engine.rle import Counts, area_of, nbytes_of, to_rle_dict
from samcompare.evaluation.ground_truth import GroundTruth, size_mismatch
from samcompare.evaluation.marks import Marks, MarksMetrics, marks_metrics_from_ious
from samcompare.evaluation.metrics import DEFAULT_IOU_THRESHOLDS, SettingMetrics, evaluate_from_ious
from samcompare.results.masks import segmentation_to_coco_rle

if TYPE_CHECKING:
    from samcompare.tuning.objectives import Objective

Reference = GroundTruth | Marks
MaskKey = tuple[int, int, int]  # crop index, candidate index, min_mask_region_area (0: the mask as decoded)


class PoolScorer:
    """Scores settings filtered from `candidates` against ground truth or marks."""

    def __init__(
        self,
        candidates: SettingCandidates,
        reference: Reference,
        iou_thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS,
    ) -> None:
        self.candidates = candidates
        self.reference = reference
        self.iou_thresholds = tuple(iou_thresholds)
        if isinstance(reference, GroundTruth):
            if reference.image_size != candidates.image_size:
                raise size_mismatch(reference.image_size, candidates.image_size)
            self.reference_rles = list(reference.objects)
        else:
            size = reference.image_size
            if size is not None and size != candidates.image_size:
                raise ValueError(f"the marks are {size} (height, width), the image is {candidates.image_size}")
            self.reference_rles = [mark.rle for mark in (*reference.good, *reference.bad)]
        self.cleanup_memo: CleanupMemo = {}
        self._rows: dict[MaskKey, np.ndarray] = {}
        self._areas: dict[MaskKey, int] = {}

    def _keys(self, result: RunResult) -> list[MaskKey]:
        assert result.origins is not None
        keys = []
        for (crop, ref), counts in zip(result.origins.tolist(), result.counts, strict=True):
            own = self.candidates.crops[crop].counts[ref]
            area = 0 if counts is own else result.config.min_mask_region_area
            keys.append((crop, ref, area))
        return keys

    def _fill(self, keys: list[MaskKey], counts: Sequence[Counts]) -> None:
        missing = [(key, c) for key, c in zip(keys, counts, strict=True) if key not in self._rows]
        if not missing:
            return
        size = self.candidates.image_size
        rles = [segmentation_to_coco_rle(to_rle_dict(c, size)) for _, c in missing]
        if self.reference_rles:
            ious = mask_utils.iou(rles, self.reference_rles, [0] * len(self.reference_rles))
            matrix = np.asarray(ious, dtype=np.float64).reshape(len(rles), len(self.reference_rles))
        else:
            matrix = np.zeros((len(rles), 0))
        for (key, c), row in zip(missing, matrix, strict=True):
            self._rows[key] = row
            self._areas[key] = area_of(c)

    def ious(self, result: RunResult) -> tuple[np.ndarray, np.ndarray]:
        """(M, references) IoU rows of the result's masks, and their areas."""
        keys = self._keys(result)
        self._fill(keys, result.counts)
        rows = np.stack([self._rows[k] for k in keys]) if keys else np.zeros((0, len(self.reference_rles)))
        return rows, np.array([self._areas[k] for k in keys], dtype=np.float64)

    def keep_reachable(self, floor: float, stability_floor: float) -> int:
        """Drop the masks of candidates no setting of the search can keep; how many masks are left.

        A setting keeps a candidate only above its `pred_iou_thresh` (>= `floor`), at or above its
        `stability_score_thresh` (>= `stability_floor`) for its offset, and away from crop edges, so
        every other candidate's RLE is dead weight. Its scores stay: the filters still see it.
        """
        crops = []
        left = 0
        for crop in self.candidates.crops:
            reachable = above_floor(crop.iou_preds, processing_floor(floor)) & ~crop.near_crop_edge
            if stability_floor > 0.0:
                stable = torch.zeros_like(reachable)
                for stability in crop.stability.values():
                    stable |= stability >= stability_floor
                reachable &= stable
            keep = reachable.cpu().numpy()
            counts = tuple(c if k else None for c, k in zip(crop.counts, keep.tolist(), strict=True))
            left += sum(c is not None for c in counts)
            crops.append(dataclasses.replace(crop, counts=counts))
        self.candidates = dataclasses.replace(self.candidates, crops=tuple(crops))
        return left

    @property
    def nbytes(self) -> int:
        """What this pool holds: candidates (scores, boxes, RLEs), IoU rows, and masks cleaned so far."""
        rows = sum(row.nbytes + 112 for row in self._rows.values()) + 100 * len(self._rows)
        items = [item for found in self.cleanup_memo.values() for item in found]
        cleaned = nbytes_of([item.counts for item in items if item.changed]) + 200 * len(items)
        return sum(crop.nbytes for crop in self.candidates.crops) + rows + cleaned

    def value(self, config: AmgConfig, objective: Objective) -> tuple[float, int]:
        """The objective's value for `config` and its mask count, computing only what the objective needs.

        F1 and recall need the matching at one IoU threshold, not COCOeval: what makes a trial over
        many images cheap. The value equals `objective.score` of the full metrics.
        """
        result = self.filter(config)
        rows, areas = self.ious(result)
        reference = self.reference
        if not isinstance(reference, GroundTruth):
            good = len(reference.good)
            marks = marks_metrics_from_ious(rows[:, :good], rows[:, good:], objective.iou_threshold, config.name)
            return objective.score(marks), len(result)
        metrics = evaluate_from_ious(
            rows,
            result.predicted_ious,
            areas,
            reference,
            self.iou_thresholds if objective.kind == "ap" else (objective.iou_threshold,),
            setting=config.name,
            coco=objective.kind == "ap",
        )
        return objective.score(metrics), len(result)

    def filter(self, config: AmgConfig) -> RunResult:
        return filter_setting(self.candidates, config, trace=False, cleanup_memo=self.cleanup_memo)

    def score(self, config: AmgConfig) -> tuple[RunResult, SettingMetrics | MarksMetrics]:
        """The setting's result (exactly the official generator's masks) and its metrics."""
        result = self.filter(config)
        rows, areas = self.ious(result)
        reference = self.reference
        if isinstance(reference, GroundTruth):
            metrics = evaluate_from_ious(
                rows, result.predicted_ious, areas, reference, self.iou_thresholds, setting=config.name
            )
            return result, metrics
        good = len(reference.good)
        return result, marks_metrics_from_ious(
            rows[:, :good], rows[:, good:], self.iou_thresholds[0], setting=config.name
        )
