"""Re-filtering cached candidates exactly as `SamAutomaticMaskGenerator` filters them.

Tensors go through `MaskData` and torchvision's `batched_nms` with the dtypes, devices and order
the official code has, so ties and type promotions resolve the same way. RLEs never enter
`MaskData` (its `cat` deep-copies lists): a `refs` tensor points back into the candidate set.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from segment_anything.utils.amg import MaskData, uncrop_boxes_xyxy, uncrop_points
from torchvision.ops.boxes import batched_nms, box_area

from samcompare.config import AmgConfig
from samcompare.engine.candidates import CandidateSet, above_floor, processing_floor
from samcompare.engine.regions import clean_counts
from samcompare.engine.rle import Counts


@dataclass(frozen=True, eq=False)
class NmsTrace:
    """What one NMS did to its inputs: which it kept and, for the others, the kept box that suppressed each.

    Greedy NMS drops a box when a kept box ranked before it (higher score; on equal scores, earlier in
    the input, as the stable sort of torchvision's CPU kernel orders them) overlaps it above the
    threshold; that box is named. Indices refer to the NMS input.
    """

    keep: np.ndarray  # (K,) int64 kept inputs in NMS output order (decreasing score)
    kept: np.ndarray  # (M,) bool
    suppressor: np.ndarray  # (M,) int64, -1 for kept boxes
    iou: np.ndarray  # (M,) float32 box IoU with the suppressor, NaN for kept boxes
    threshold: float


def trace_nms(boxes: torch.Tensor, scores: torch.Tensor, keep: torch.Tensor, threshold: float) -> NmsTrace:
    """Name the suppressor of every box `batched_nms(boxes, scores, 0, threshold)` dropped (`keep` is its output).

    In NumPy, on one thread: torch spreads the (dropped x kept) IoU matrix over its threads, and on a
    busy CPU (a browser beside the app) waiting for them took ten times the work itself.
    """
    n = len(boxes)
    keep_np = keep.cpu().numpy().astype(np.int64)
    kept = np.zeros(n, dtype=bool)
    kept[keep_np] = True
    suppressor = np.full(n, -1, dtype=np.int64)
    iou = np.full(n, np.nan, dtype=np.float32)
    dropped = np.flatnonzero(~kept)
    kept_index = np.flatnonzero(kept)
    if len(dropped) and len(kept_index):
        boxes_np = boxes.float().cpu().numpy()
        order = np.argsort(-scores.cpu().numpy(), kind="stable")  # as torch.sort(descending=True, stable=True)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        ious = box_iou_np(boxes_np[dropped], boxes_np[kept_index])
        earlier = rank[kept_index][None, :] < rank[dropped][:, None]
        over = (ious > threshold) & earlier
        first_over = np.where(over, rank[kept_index][None, :], n).argmin(axis=1)
        rows = np.arange(len(dropped))
        # Rounding at the threshold itself can hide the suppressor: then name the closest earlier box.
        closest_earlier = np.where(earlier, ious, -1.0).argmax(axis=1)
        choice = np.where(over[rows, first_over], first_over, closest_earlier)
        suppressor[dropped] = kept_index[choice]
        iou[dropped] = ious[rows, choice]
    return NmsTrace(keep_np, kept, suppressor, iou, float(threshold))


def box_iou_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """torchvision's `box_iou` of float32 XYXY boxes: the same operations in the same order, so the same floats."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    size = np.maximum(bottom_right - top_left, np.float32(0))
    inter = size[:, :, 0] * size[:, :, 1]
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


@dataclass(frozen=True, eq=False)
class CropTrace:
    """Each candidate of one crop through the per-batch filters and the crop's box NMS (numpy, image frame)."""

    crop_index: int
    crop_box: tuple[int, int, int, int]
    predicted_iou: np.ndarray  # (N,) float32
    stability_score: np.ndarray  # (N,) float32 for the setting's offset; NaN where not computed
    boxes: np.ndarray  # (N, 4) int64 XYXY in the image; meaningful where area >= 0
    points: np.ndarray  # (N, 2) float64 in the image
    areas: np.ndarray  # (N,) int64; -1 where not computed
    outputs_per_point: int
    passed_iou: np.ndarray  # (N,) bool: kept by pred_iou_thresh
    passed_stability: np.ndarray  # (N,) bool: kept by stability_score_thresh (alone)
    passed_edge: np.ndarray  # (N,) bool: not near a crop edge (alone)
    nms_input: np.ndarray  # (M,) candidate indices entering the box NMS, in its input order
    nms: NmsTrace


def filter_crop(
    candidates: CandidateSet, config: AmgConfig, crop_index: int, trace: bool = False
) -> tuple[MaskData, CropTrace | None]:
    """What `_process_crop` returns for this crop, with `refs`/`crop_ids` in place of `rles`; the trace if asked."""
    iou_preds = candidates.iou_preds
    stability = candidates.stability[float(config.stability_score_offset)]
    floor = processing_floor(config.pred_iou_thresh)
    if not candidates.covers(floor):
        raise ValueError(f"candidates post-processed above {candidates.floor} cannot serve {config.name!r}")
    passed_iou = above_floor(iou_preds, floor)
    keep = passed_iou
    if config.stability_score_thresh > 0.0:
        keep = keep & (stability >= config.stability_score_thresh)
    # The official code computes boxes per batch; a batch left empty by the score filters yields
    # float32 boxes, and torch.cat then promotes the whole crop's boxes to float32.
    survivors = torch.cumsum(keep.to(torch.int64), 0).cpu()
    ends = torch.tensor(candidates.batch_ends, dtype=torch.int64) - 1
    per_batch = torch.diff(survivors[ends], prepend=torch.zeros(1, dtype=torch.int64)) if len(ends) else ends
    float_boxes = bool((per_batch == 0).any())
    keep = keep & ~candidates.near_crop_edge
    index = keep.nonzero().flatten()
    index_cpu = index.cpu()
    boxes = candidates.boxes[index]
    if float_boxes:
        boxes = boxes.float()
    data = MaskData(
        iou_preds=iou_preds[index],
        points=candidates.points[index_cpu],
        stability_score=stability[index],
        boxes=boxes,
        refs=index_cpu,
    )
    keep_by_nms = batched_nms(
        data["boxes"].float(),
        data["iou_preds"],
        torch.zeros(len(data["boxes"])),
        iou_threshold=config.box_nms_thresh,
    )
    crop_trace = None
    if trace:
        nms = trace_nms(data["boxes"], data["iou_preds"], keep_by_nms, config.box_nms_thresh)
        crop_trace = _crop_trace(candidates, config, crop_index, stability, passed_iou, index_cpu, nms)
    data.filter(keep_by_nms)
    crop_box = list(candidates.crop_box)
    data["boxes"] = uncrop_boxes_xyxy(data["boxes"], crop_box)
    data["points"] = uncrop_points(data["points"], crop_box)
    n = len(data["refs"])
    data["crop_boxes"] = torch.tensor([crop_box for _ in range(n)])
    data["crop_ids"] = torch.full((n,), crop_index, dtype=torch.int64)
    return data, crop_trace


def _crop_trace(
    candidates: CandidateSet,
    config: AmgConfig,
    crop_index: int,
    stability: torch.Tensor,
    passed_iou: torch.Tensor,
    nms_input: torch.Tensor,
    nms: NmsTrace,
) -> CropTrace:
    x0, y0 = candidates.crop_box[0], candidates.crop_box[1]
    stability_np = stability.cpu().numpy().copy()
    if config.stability_score_thresh > 0.0:
        passed_stability = stability_np >= config.stability_score_thresh
    else:
        passed_stability = np.ones(len(stability_np), dtype=bool)
    return CropTrace(
        crop_index=crop_index,
        crop_box=candidates.crop_box,
        predicted_iou=candidates.iou_preds.cpu().numpy().copy(),
        stability_score=stability_np,
        boxes=candidates.boxes.cpu().numpy() + np.array([x0, y0, x0, y0], dtype=np.int64),
        points=candidates.points.cpu().numpy() + np.array([x0, y0], dtype=np.float64),
        areas=candidates.areas.copy(),
        outputs_per_point=candidates.outputs_per_point,
        passed_iou=passed_iou.cpu().numpy().copy(),
        passed_stability=passed_stability,
        passed_edge=~candidates.near_crop_edge.cpu().numpy(),
        nms_input=nms_input.numpy().copy(),
        nms=nms,
    )


def merge_crops(
    per_crop: list[MaskData], config: AmgConfig, trace: bool = False, float32: bool = False
) -> tuple[MaskData | None, NmsTrace | None]:
    """`_generate_masks` after the crops: concatenate, NMS between crops, move to numpy.

    With `float32` every tensor becomes float32 on its way to numpy, as SAM 2's `MaskData.to_numpy`
    does (its records' boxes, points and crop boxes are floats).

    Returns None where the official code raises (crop layers and no mask left in any crop:
    `box_area` on an empty 1-D tensor); that means no masks. With `trace`, the NMS between crops
    is traced over the concatenated masks (None without crop layers).
    """
    data = MaskData()
    for crop_data in per_crop:
        data.cat(crop_data)
    nms = None
    if len(per_crop) > 1:
        if data["crop_boxes"].dim() != 2:
            return None, None
        scores = 1 / box_area(data["crop_boxes"])
        scores = scores.to(data["boxes"].device)
        keep_by_nms = batched_nms(
            data["boxes"].float(),
            scores,
            torch.zeros(len(data["boxes"])),
            iou_threshold=config.crop_nms_thresh,
        )
        if trace:
            nms = trace_nms(data["boxes"], scores, keep_by_nms, config.crop_nms_thresh)
        data.filter(keep_by_nms)
    if float32:
        for key in ("boxes", "points", "crop_boxes", "iou_preds", "stability_score"):
            value = data[key] if key in dict(data.items()) else None
            if isinstance(value, torch.Tensor):
                data[key] = value.float()
    data.to_numpy()
    return data, nms


@dataclass(frozen=True, eq=False)
class Cleaned:
    keep: np.ndarray  # indices into the input, in output order
    counts: list[Counts]  # RLE of each kept mask (re-encoded where the clean-up changed it)
    boxes: np.ndarray  # boxes of the kept masks (updated where changed), the input's dtype
    changed: np.ndarray  # (M,) bool per input: holes or islands were removed
    nms: NmsTrace | None = None  # the clean-up's own NMS, when traced


@dataclass(frozen=True, eq=False)
class CleanedMask:
    """One mask after `remove_small_regions` (holes, then islands): it depends on the mask and the area alone."""

    changed: bool
    counts: Counts  # the cleaned mask's RLE (the input's own counts when unchanged)
    box: torch.Tensor  # (4,) int64 XYXY of the cleaned mask, as `batched_mask_to_box` gives it
    areas: tuple[int, int] = (0, 0)  # every minimum area from the first to the second gives this same result


# A memo of cleaned masks shared between calls (a sweep or a search cleans the same candidates again
# and again): per mask, by the caller's name for it, the results found so far, each with the areas
# it holds for. A mask's regions are labelled once per distinct result, not once per area.
CleanupMemo = dict[Hashable, list[CleanedMask]]


def clean_mask(counts: Counts, size: tuple[int, int], min_area: int) -> CleanedMask:
    """`remove_small_regions` (holes, then islands) on the window around the mask: the full image's result."""
    cleanup = clean_counts(counts, size, min_area)
    return CleanedMask(cleanup.changed, cleanup.counts, cleanup.box, cleanup.areas)


def _clean_with_memo(
    mask_key: Hashable, counts: Counts, size: tuple[int, int], min_area: int, memo: CleanupMemo
) -> CleanedMask:
    found = memo.setdefault(mask_key, [])
    for item in found:
        if item.areas[0] <= min_area <= item.areas[1]:
            return item
    item = clean_mask(counts, size, min_area)
    found.append(item)
    return item


def remove_small_regions_all(
    counts: Sequence[Counts],
    size: tuple[int, int],
    boxes: np.ndarray,
    min_area: int,
    nms_thresh: float,
    trace: bool = False,
    mask_keys: Sequence[Hashable] | None = None,
    memo: CleanupMemo | None = None,
) -> Cleaned:
    """`SamAutomaticMaskGenerator.postprocess_small_regions` without touching its inputs.

    With `memo` and `mask_keys` (one hashable name per mask), each mask is cleaned once per area
    across calls at most, and once for all the areas that give the same result.
    """
    if len(counts) == 0:
        return Cleaned(np.zeros(0, dtype=np.int64), [], boxes.copy(), np.zeros(0, dtype=bool))
    cleaned: list[CleanedMask] = []
    for i, mask_counts in enumerate(counts):
        if memo is not None and mask_keys is not None:
            cleaned.append(_clean_with_memo(mask_keys[i], mask_counts, size, min_area, memo))
        else:
            cleaned.append(clean_mask(mask_counts, size, min_area))
    boxes_torch = torch.stack([item.box for item in cleaned])
    scores = torch.as_tensor([float(not item.changed) for item in cleaned])
    keep_by_nms = batched_nms(
        boxes_torch.float(),
        scores,
        torch.zeros(len(boxes_torch)),
        iou_threshold=nms_thresh,
    )
    out_boxes = boxes.copy()
    out_counts = list(counts)
    for i_mask in keep_by_nms.tolist():
        if cleaned[i_mask].changed:
            out_counts[i_mask] = cleaned[i_mask].counts
            out_boxes[i_mask] = boxes_torch[i_mask].numpy()
    keep = keep_by_nms.numpy()
    changed = np.array([item.changed for item in cleaned], dtype=bool)
    nms = trace_nms(boxes_torch, scores, keep_by_nms, nms_thresh) if trace else None
    return Cleaned(keep, [out_counts[i] for i in keep.tolist()], out_boxes[keep], changed, nms)
