"""Marked masks: partial ground truth for images that have none.

A user marks masks of any setting as good (should be found) or bad (should not be). The marks
of one image are kept as masks (compressed COCO RLE), so they stay valid when a setting is run
again and its mask ids change; each keeps where it came from (setting name, mask id).

Metrics of a setting's M masks against the marks, at an IoU threshold t:
- good found: good marks matched one-to-one by a mask with IoU >= t (the same matching as
  against ground truth: most pairs, then largest summed IoU);
- bad hit: bad marks that some mask reproduces with IoU >= t (any mask: a bad mask is bad however
  often it comes back); bad avoided = bad - bad hit;
- masks on marks: masks with IoU >= t against at least one mark; the other masks are unjudged;
- precision = good found / masks on marks: over the judged masks only; a mask on a bad mark, or
  a second mask on an already found good mark (a duplicate), counts against it. NaN when no mask
  lies on a mark;
- recall = good found / good (NaN without good marks);
- agreement = (good found + bad avoided) / (good + bad), in [0, 1]: the share of marks the setting
  agrees with (NaN without marks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pycocotools import mask as mask_utils

from samcompare.results.masks import HasRecords, Records, RunMasks, as_run_masks
from samcompare.results.matching import one_to_one

DEFAULT_MARK_IOU = 0.5
GOOD = "good"
BAD = "bad"


@dataclass(frozen=True)
class MarkedMask:
    """One marked mask and where it came from."""

    rle: dict[str, Any] = field(repr=False)  # compressed COCO RLE (counts as bytes)
    setting: str
    mask_id: int  # its record index in that setting's run

    @property
    def key(self) -> tuple[tuple[int, int], bytes]:
        """Identity of the mask itself: equal masks from two settings are one mark."""
        counts = self.rle["counts"]
        return (int(self.rle["size"][0]), int(self.rle["size"][1])), (
            counts if isinstance(counts, bytes) else str(counts).encode("ascii")
        )


@dataclass(frozen=True)
class Marks:
    """The good and bad marks of one image; a mask is at most once in either, never in both."""

    good: tuple[MarkedMask, ...] = ()
    bad: tuple[MarkedMask, ...] = ()

    def __len__(self) -> int:
        return len(self.good) + len(self.bad)

    @property
    def image_size(self) -> tuple[int, int] | None:
        marks = self.good + self.bad
        return None if not marks else (int(marks[0].rle["size"][0]), int(marks[0].rle["size"][1]))

    def marked(self, masks: Sequence[MarkedMask], label: str) -> Marks:
        """These marks with `masks` marked `label` ("good" or "bad"): a mask marked before moves to its new label."""
        if label not in (GOOD, BAD):
            raise ValueError(f"a mark is {GOOD!r} or {BAD!r}, got {label!r}")
        size = self.image_size
        for mask in masks:
            mask_size = (int(mask.rle["size"][0]), int(mask.rle["size"][1]))
            if size is not None and mask_size != size:
                raise ValueError(f"a mask of {mask_size} cannot join marks of {size} (height, width)")
        new_keys = {mask.key for mask in masks}
        unique: dict[tuple[tuple[int, int], bytes], MarkedMask] = {}
        for mask in masks:
            unique.setdefault(mask.key, mask)
        kept_good = tuple(m for m in self.good if m.key not in new_keys)
        kept_bad = tuple(m for m in self.bad if m.key not in new_keys)
        added = tuple(unique.values())
        return Marks(kept_good + added, kept_bad) if label == GOOD else Marks(kept_good, kept_bad + added)

    def unmarked(self, masks: Sequence[MarkedMask]) -> Marks:
        """These marks without `masks` (compared by the mask itself)."""
        keys = {mask.key for mask in masks}
        return Marks(tuple(m for m in self.good if m.key not in keys), tuple(m for m in self.bad if m.key not in keys))

    def label_of(self, rle: dict[str, Any]) -> str | None:
        """ "good", "bad" or None for a mask (compressed COCO RLE)."""
        key = MarkedMask(rle, "", -1).key
        if any(m.key == key for m in self.good):
            return GOOD
        if any(m.key == key for m in self.bad):
            return BAD
        return None


def marks_from_run(masks: RunMasks, mask_ids: Sequence[int], setting: str | None = None) -> list[MarkedMask]:
    """`MarkedMask`s of some masks of a run, ready for `Marks.marked`."""
    name = setting if setting is not None else (masks.config.name if masks.config is not None else "setting")
    return [MarkedMask(masks.coco_rle(mask_id), name, mask_id) for mask_id in masks.check_ids(mask_ids)]


def _ious(pred_rles: Sequence[dict[str, Any]], marks: Sequence[MarkedMask]) -> np.ndarray:
    if not pred_rles or not marks:
        return np.zeros((len(pred_rles), len(marks)), dtype=np.float64)
    ious = mask_utils.iou(list(pred_rles), [m.rle for m in marks], [0] * len(marks))
    return np.asarray(ious, dtype=np.float64).reshape(len(pred_rles), len(marks))


def mark_ious(pred_rles: Sequence[dict[str, Any]], marks: Marks) -> tuple[np.ndarray, np.ndarray]:
    """(M, good) and (M, bad) IoU of each mask (compressed COCO RLE) with each good and each bad mark."""
    size = marks.image_size
    for rle in pred_rles:
        if size is not None and (int(rle["size"][0]), int(rle["size"][1])) != size:
            raise ValueError(f"masks of {tuple(rle['size'])} cannot be judged by marks of {size} (height, width)")
    return _ious(pred_rles, marks.good), _ious(pred_rles, marks.bad)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


@dataclass(frozen=True)
class MarksMetrics:
    """How one setting agrees with the marks (definitions in the module docstring)."""

    setting: str
    iou_threshold: float
    good: int
    bad: int
    masks: int
    good_found: int
    bad_hit: int
    masks_on_marks: int
    precision: float
    recall: float
    agreement: float

    @property
    def bad_avoided(self) -> int:
        return self.bad - self.bad_hit

    def row(self) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "masks": self.masks,
            "good_marks": self.good,
            "good_found": self.good_found,
            "bad_marks": self.bad,
            "bad_hit": self.bad_hit,
            "masks_on_marks": self.masks_on_marks,
            "precision": self.precision,
            "recall": self.recall,
            "agreement": self.agreement,
        }


def marks_metrics_from_ious(
    good_ious: np.ndarray,
    bad_ious: np.ndarray,
    iou_threshold: float = DEFAULT_MARK_IOU,
    setting: str = "setting",
) -> MarksMetrics:
    """The marks metrics of M masks from their IoU rows against the good (M, Ng) and bad (M, Nb) marks."""
    good_matrix = np.asarray(good_ious, dtype=np.float64)
    bad_matrix = np.asarray(bad_ious, dtype=np.float64)
    if good_matrix.ndim != 2 or bad_matrix.ndim != 2 or good_matrix.shape[0] != bad_matrix.shape[0]:
        raise ValueError(f"IoU matrices {good_matrix.shape} and {bad_matrix.shape} need one row per mask each")
    masks, good, bad = good_matrix.shape[0], good_matrix.shape[1], bad_matrix.shape[1]
    good_found = len(one_to_one(good_matrix, iou_threshold, most_pairs=True))
    bad_hit = int((bad_matrix >= iou_threshold).any(axis=0).sum()) if masks else 0
    on_marks = np.zeros(masks, dtype=bool)
    if good:
        on_marks |= (good_matrix >= iou_threshold).any(axis=1)
    if bad:
        on_marks |= (bad_matrix >= iou_threshold).any(axis=1)
    masks_on_marks = int(on_marks.sum())
    return MarksMetrics(
        setting=setting,
        iou_threshold=float(iou_threshold),
        good=good,
        bad=bad,
        masks=masks,
        good_found=good_found,
        bad_hit=bad_hit,
        masks_on_marks=masks_on_marks,
        precision=_ratio(good_found, masks_on_marks),
        recall=_ratio(good_found, good),
        agreement=_ratio(good_found + bad - bad_hit, good + bad),
    )


def evaluate_marks(
    run: HasRecords | Records | RunMasks,
    marks: Marks,
    iou_threshold: float = DEFAULT_MARK_IOU,
    setting: str | None = None,
) -> MarksMetrics:
    """The marks metrics of a run (the engine's `RunResult`, a `RunMasks` or records, any output mode)."""
    if isinstance(run, Sequence) and len(run) == 0:
        masks = RunMasks(run, marks.image_size or (1, 1))
    else:
        masks = as_run_masks(run)
    name = setting if setting is not None else (masks.config.name if masks.config is not None else "setting")
    good_ious, bad_ious = mark_ious(masks.coco_rles(), marks)
    return marks_metrics_from_ious(good_ious, bad_ious, iou_threshold, name)


def marks_table(metrics: Sequence[MarksMetrics]) -> pd.DataFrame:
    """One row per setting."""
    columns = list(MarksMetrics("", 0.5, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0).row())
    return pd.DataFrame([m.row() for m in metrics], columns=columns)
