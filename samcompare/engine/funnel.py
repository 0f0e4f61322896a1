"""The candidate funnel: how many candidates each stage of the official pipeline leaves, and each one's fate.

`SamAutomaticMaskGenerator` filters its candidates in a fixed order: per batch by
`pred_iou_thresh`, `stability_score_thresh` and the crop-edge test; per crop by box NMS; across
crops by NMS preferring smaller crops; then the small-region clean-up and its own NMS. The
engine runs the very same steps (`filtering.py`) and records what each did; `build_funnel` turns
those records into one row per candidate. The last count is the number of masks the official
generator returns; for a setting with post-filters beyond it (a maximum area, no border masks, top
k), their stages follow the official ones and the last count is the official output filtered by them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from samcompare.config import BEYOND_OFFICIAL, AmgConfig
from samcompare.engine.filtering import CropTrace, NmsTrace
from samcompare.engine.postfilters import BORDER, MAX_AREA, STAGES, TOP_K, PostFilterTrace

CANDIDATES = "candidates"
PRED_IOU = "pred_iou_thresh"
STABILITY = "stability_score_thresh"
CROP_EDGE = "crop_edge"
BOX_NMS = "box_nms"
CROP_NMS = "crop_nms"
SMALL_REGION_NMS = "small_region_nms"
KEPT = "kept"
# The post-filters beyond the official generator (engine/postfilters.py) are stages MAX_AREA, BORDER, TOP_K.
POST_FILTER_STAGES = STAGES

# Every fate, in pipeline order: a candidate's fate is the stage that dropped it, or KEPT.
FATES = (PRED_IOU, STABILITY, CROP_EDGE, BOX_NMS, CROP_NMS, SMALL_REGION_NMS, MAX_AREA, BORDER, TOP_K, KEPT)
_FATE_CODE = {name: code for code, name in enumerate(FATES)}

STAGE_LABELS = {
    CANDIDATES: "all candidates",
    PRED_IOU: "pred_iou_thresh",
    STABILITY: "stability_score_thresh",
    CROP_EDGE: "crop-edge filter",
    BOX_NMS: "box NMS in each crop",
    CROP_NMS: "NMS across crops",
    SMALL_REGION_NMS: "small-region clean-up NMS",
    MAX_AREA: f"max area ({BEYOND_OFFICIAL})",
    BORDER: f"border masks dropped ({BEYOND_OFFICIAL})",
    TOP_K: f"top k by predicted_iou ({BEYOND_OFFICIAL})",
    KEPT: "kept",
}


def funnel_stages(config: AmgConfig, n_crops: int, clean_small_regions: bool = True) -> tuple[str, ...]:
    """The stages a setting goes through, in order: the crop stages only with crops, the clean-up only with an
    area (and a family whose generator runs it), each post-filter beyond the official generator only when the
    setting has it."""
    stages = [CANDIDATES, PRED_IOU, STABILITY]
    if n_crops > 1:
        stages.append(CROP_EDGE)
    stages.append(BOX_NMS)
    if n_crops > 1:
        stages.append(CROP_NMS)
    if clean_small_regions and config.min_mask_region_area > 0:
        stages.append(SMALL_REGION_NMS)
    if config.max_mask_region_area is not None:
        stages.append(MAX_AREA)
    if config.drop_border_masks:
        stages.append(BORDER)
    if config.top_k is not None:
        stages.append(TOP_K)
    stages.append(KEPT)
    return tuple(stages)


@dataclass(frozen=True, eq=False)
class Funnel:
    """Every candidate of one setting on one image, with the stage that dropped it or its mask id.

    Candidate ids run over the crops in plan order, and within a crop in the official batch order
    (point i // 3, multimask output i % 3). Stability, area and box exist only for candidates
    that were post-processed: like the official generator, the engine up-scales only candidates
    above the lowest `pred_iou_thresh` asked for (NaN / -1 elsewhere, until completed).
    """

    config: AmgConfig
    stages: tuple[str, ...]
    counts: tuple[int, ...]  # candidates left after each stage (the first: all; the last: kept)
    cleaned: int  # masks the small-region clean-up changed (holes filled or islands removed)
    crop_boxes: tuple[tuple[int, int, int, int], ...]  # XYXY per crop index
    crop: np.ndarray  # (N,) int64 crop index
    index_in_crop: np.ndarray  # (N,) int64
    output: np.ndarray  # (N,) int64 multimask output of the candidate's point
    point: np.ndarray  # (N, 2) float64 prompt point in the image
    predicted_iou: np.ndarray  # (N,) float32
    stability_score: np.ndarray  # (N,) float32, NaN where not computed
    area: np.ndarray  # (N,) int64, -1 where not computed
    box: np.ndarray  # (N, 4) int64 XYXY in the image (before the clean-up), -1 where not computed
    fate_code: np.ndarray  # (N,) int8 index into FATES
    suppressed_by: np.ndarray  # (N,) int64 candidate id of the box that suppressed it in NMS, else -1
    suppression_iou: np.ndarray  # (N,) float32 box IoU with that box, else NaN
    mask_id: np.ndarray  # (N,) int64 index of its mask in the result, -1 when dropped
    changed_by_cleanup: np.ndarray  # (N,) bool
    # Post-filters (beyond the official generator): each output mask's final area (after the clean-up),
    # its rank by predicted_iou among those reaching top_k (-1 elsewhere), the area limit in pixels.
    final_area: np.ndarray | None = None  # (N,) int64, -1 for candidates the official generator dropped
    top_k_rank: np.ndarray | None = None  # (N,) int64
    max_area_px: float | None = None
    # What the model family did to every candidate before the thresholds (SAM 2: m2m, low-res clean-up).
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.fate_code)

    @property
    def fates(self) -> np.ndarray:
        """Fate names per candidate (object array)."""
        return np.asarray(FATES, dtype=object)[self.fate_code]

    @property
    def kept(self) -> int:
        return self.counts[-1]

    @property
    def computed(self) -> np.ndarray:
        """(N,) bool: stability, area and box are known."""
        return self.area >= 0

    def stage_counts(self) -> list[tuple[str, int]]:
        return list(zip(self.stages, self.counts, strict=True))

    def frame(self) -> pd.DataFrame:
        """`funnel.csv`: one row per stage, the candidates left after it."""
        return pd.DataFrame({"stage": list(self.stages), "count": list(self.counts)})

    def dropped_at(self, stage: str) -> int:
        return int((self.fate_code == _FATE_CODE[stage]).sum()) if stage in _FATE_CODE else 0

    def reason(self, candidate: int) -> str:
        """Why candidate `candidate` was kept or dropped, in the words of the setting's parameters."""
        config = self.config
        fate = FATES[int(self.fate_code[candidate])]
        if fate == PRED_IOU:
            return f"predicted_iou {_number(self.predicted_iou[candidate])} <= {config.pred_iou_thresh:g}"
        if fate == STABILITY:
            return f"stability_score {_number(self.stability_score[candidate])} < {config.stability_score_thresh:g}"
        if fate == CROP_EDGE:
            return f"box touches the edge of crop {int(self.crop[candidate])} inside the image"
        if fate in (BOX_NMS, CROP_NMS, SMALL_REGION_NMS):
            threshold = {
                BOX_NMS: config.box_nms_thresh,
                CROP_NMS: config.crop_nms_thresh,
                SMALL_REGION_NMS: max(config.box_nms_thresh, config.crop_nms_thresh),
            }[fate]
            where = {BOX_NMS: "", CROP_NMS: " (across crops)", SMALL_REGION_NMS: " (after the clean-up)"}[fate]
            other = int(self.suppressed_by[candidate])
            by = f"candidate {other}"
            if other >= 0 and self.mask_id[other] >= 0:
                by = f"mask {int(self.mask_id[other])}"
            elif other >= 0:
                by += f" (itself dropped by {FATES[int(self.fate_code[other])]})"
            return f"suppressed by {by}{where}, box IoU {_number(self.suppression_iou[candidate], 2)} > {threshold:g}"
        if fate == MAX_AREA:
            area = int(self.final_area[candidate]) if self.final_area is not None else -1
            limit = f"{self.max_area_px:,.0f} px" if self.max_area_px is not None else "?"
            given = config.max_mask_region_area
            shown = f"{given} ({limit})" if given is not None and given.relative else limit
            return f"area {area:,} px > max_mask_region_area {shown} ({BEYOND_OFFICIAL})"
        if fate == BORDER:
            return f"touches the image border: drop_border_masks ({BEYOND_OFFICIAL})"
        if fate == TOP_K:
            rank = int(self.top_k_rank[candidate]) + 1 if self.top_k_rank is not None else -1
            return (
                f"predicted_iou {_number(self.predicted_iou[candidate])} is number {rank} of the masks left; "
                f"top_k keeps {config.top_k} ({BEYOND_OFFICIAL})"
            )
        note = ", holes/islands removed" if self.changed_by_cleanup[candidate] else ""
        return f"kept as mask {int(self.mask_id[candidate])}{note}"

    def table(self, candidates: Sequence[int] | np.ndarray | None = None) -> pd.DataFrame:
        """`candidates.csv`: one row per candidate (or the given ids), with its numbers and fate."""
        ids = np.arange(len(self)) if candidates is None else np.asarray(candidates, dtype=np.int64)
        known = self.area[ids] >= 0
        box = self.box[ids].astype(np.float64)
        box[~known] = np.nan
        suppressor = self.suppressed_by[ids]
        suppressor_mask = np.where(suppressor >= 0, self.mask_id[np.maximum(suppressor, 0)], -1)
        return pd.DataFrame(
            {
                "id": ids,
                "crop": self.crop[ids],
                "point_x": self.point[ids, 0],
                "point_y": self.point[ids, 1],
                "output": self.output[ids],
                "predicted_iou": self.predicted_iou[ids].astype(np.float64),
                "stability_score": self.stability_score[ids].astype(np.float64),
                "area": np.where(known, self.area[ids], np.nan),
                "bbox_x": box[:, 0],
                "bbox_y": box[:, 1],
                "bbox_w": box[:, 2] - box[:, 0],
                "bbox_h": box[:, 3] - box[:, 1],
                "fate": self.fates[ids],
                "mask_id": self.mask_id[ids],
                "suppressed_by": suppressor,
                "suppressed_by_mask": suppressor_mask,
                "suppression_iou": self.suppression_iou[ids].astype(np.float64),
                "cleaned": self.changed_by_cleanup[ids],
                "reason": [self.reason(int(i)) for i in ids],
            }
        )


def _number(value: float, digits: int = 3) -> str:
    return "nan" if math.isnan(float(value)) else f"{float(value):.{digits}f}"


@dataclass(frozen=True)
class MergedOrigin:
    """Where each mask entering the NMS across crops (and then the clean-up) came from."""

    crop_ids: np.ndarray  # (M,) int64
    refs: np.ndarray  # (M,) int64 candidate index within its crop


def build_funnel(
    config: AmgConfig,
    crops: Sequence[CropTrace],
    merged_input: MergedOrigin,
    crop_nms: NmsTrace | None,
    cleanup_changed: np.ndarray | None,
    cleanup_nms: NmsTrace | None,
    post: PostFilterTrace | None = None,
    final_areas: np.ndarray | None = None,
    *,
    notes: tuple[str, ...] = (),
    clean_small_regions: bool = True,
) -> Funnel:
    """Assemble the funnel from the filters' traces.

    `merged_input` names the masks entering the NMS across crops; `crop_nms` traces it (None
    without crops, or when no mask reached it). The clean-up sees what that NMS kept, in its
    output order, and its own NMS (`cleanup_nms`, None without a clean-up) orders the official
    output. `post` traces the post-filters over that output (None without them), whose masks'
    areas after the clean-up are `final_areas`.
    """
    offsets = np.cumsum([0] + [len(c.predicted_iou) for c in crops])
    total = int(offsets[-1])

    def cat(name: str, empty: np.ndarray) -> np.ndarray:
        parts = [getattr(c, name) for c in crops]
        return np.concatenate(parts) if parts else empty

    crop = np.concatenate([np.full(len(c.predicted_iou), c.crop_index, np.int64) for c in crops] or [np.zeros(0, int)])
    index_in_crop = np.concatenate([np.arange(len(c.predicted_iou)) for c in crops] or [np.zeros(0, int)])
    per_point = np.concatenate([np.full(len(c.predicted_iou), c.outputs_per_point) for c in crops] or [np.ones(0)])
    fate = np.full(total, _FATE_CODE[KEPT], dtype=np.int8)
    suppressed_by = np.full(total, -1, dtype=np.int64)
    suppression_iou = np.full(total, np.nan, dtype=np.float32)
    mask_id = np.full(total, -1, dtype=np.int64)
    changed = np.zeros(total, dtype=bool)

    n_iou = n_stability = n_edge = n_box_nms = 0
    for trace, offset in zip(crops, offsets[:-1], strict=True):
        ids = offset + np.arange(len(trace.predicted_iou))
        after_iou = trace.passed_iou
        after_stability = after_iou & trace.passed_stability
        after_edge = after_stability & trace.passed_edge
        fate[ids[~after_iou]] = _FATE_CODE[PRED_IOU]
        fate[ids[after_iou & ~trace.passed_stability]] = _FATE_CODE[STABILITY]
        fate[ids[after_stability & ~trace.passed_edge]] = _FATE_CODE[CROP_EDGE]
        dropped = ~trace.nms.kept
        nms_ids = offset + trace.nms_input
        fate[nms_ids[dropped]] = _FATE_CODE[BOX_NMS]
        suppressed_by[nms_ids[dropped]] = nms_ids[trace.nms.suppressor[dropped]]
        suppression_iou[nms_ids[dropped]] = trace.nms.iou[dropped]
        n_iou += int(after_iou.sum())
        n_stability += int(after_stability.sum())
        n_edge += int(after_edge.sum())
        n_box_nms += int(trace.nms.kept.sum())

    merged_ids = offsets[merged_input.crop_ids] + merged_input.refs if total else np.zeros(0, np.int64)
    cleanup_input = merged_ids
    if crop_nms is not None:
        dropped = ~crop_nms.kept
        fate[merged_ids[dropped]] = _FATE_CODE[CROP_NMS]
        suppressed_by[merged_ids[dropped]] = merged_ids[crop_nms.suppressor[dropped]]
        suppression_iou[merged_ids[dropped]] = crop_nms.iou[dropped]
        cleanup_input = merged_ids[crop_nms.keep]  # batched_nms's output order: decreasing score
    n_crop_nms = len(cleanup_input)
    if cleanup_changed is not None and len(cleanup_changed):
        changed[cleanup_input] = cleanup_changed
    if cleanup_nms is not None:
        dropped = ~cleanup_nms.kept
        fate[cleanup_input[dropped]] = _FATE_CODE[SMALL_REGION_NMS]
        suppressed_by[cleanup_input[dropped]] = cleanup_input[cleanup_nms.suppressor[dropped]]
        suppression_iou[cleanup_input[dropped]] = cleanup_nms.iou[dropped]
    official_ids = cleanup_input[cleanup_nms.keep] if cleanup_nms is not None else cleanup_input
    final_area = top_k_rank = None
    left_after_post: dict[str, int] = {}
    if post is not None:
        final_area = np.full(total, -1, dtype=np.int64)
        if final_areas is not None:
            final_area[official_ids] = final_areas
        top_k_rank = np.full(total, -1, dtype=np.int64)
        top_k_rank[official_ids] = post.rank
        dropped = post.dropped_by >= 0
        fate[official_ids[dropped]] = [_FATE_CODE[STAGES[code]] for code in post.dropped_by[dropped].tolist()]
        left_after_post = {stage: post.left_after(stage) for stage in post.stages}
        final_ids = official_ids[post.keep]
    else:
        final_ids = official_ids
    mask_id[final_ids] = np.arange(len(final_ids))
    n_crops = len(crops)
    stages = funnel_stages(config, n_crops, clean_small_regions)
    after = {
        CANDIDATES: total,
        PRED_IOU: n_iou,
        STABILITY: n_stability,
        CROP_EDGE: n_edge,
        BOX_NMS: n_box_nms,
        CROP_NMS: n_crop_nms,
        SMALL_REGION_NMS: len(official_ids),
        **left_after_post,
        KEPT: len(final_ids),
    }
    return Funnel(
        config=config,
        stages=stages,
        counts=tuple(after[stage] for stage in stages),
        cleaned=int(changed.sum()),
        crop_boxes=tuple(c.crop_box for c in crops),
        crop=crop,
        index_in_crop=index_in_crop,
        output=index_in_crop % np.maximum(per_point, 1).astype(np.int64),
        point=cat("points", np.zeros((0, 2))),
        predicted_iou=cat("predicted_iou", np.zeros(0, np.float32)),
        stability_score=cat("stability_score", np.zeros(0, np.float32)),
        area=cat("areas", np.zeros(0, np.int64)),
        box=cat("boxes", np.zeros((0, 4), np.int64)),
        fate_code=fate,
        suppressed_by=suppressed_by,
        suppression_iou=suppression_iou,
        mask_id=mask_id,
        changed_by_cleanup=changed,
        notes=notes,
        final_area=final_area,
        top_k_rank=top_k_rank,
        max_area_px=post.max_area_px if post is not None else None,
    )
