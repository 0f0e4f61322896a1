"""Re-filtering cached candidates exactly as `SamAutomaticMaskGenerator` filters them.

Tensors go through `MaskData` and torchvision's `batched_nms` with the dtypes, devices and order
the official code has, so ties and type promotions resolve the same way. RLEs never enter
`MaskData` (its `cat` deep-copies lists): a `refs` tensor points back into the candidate set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from segment_anything.utils.amg import (
    MaskData,
    batched_mask_to_box,
    remove_small_regions,
    uncrop_boxes_xyxy,
    uncrop_points,
)
from torchvision.ops.boxes import batched_nms, box_area

from samcompare.config import AmgConfig
from samcompare.engine.candidates import CandidateSet, above_floor, processing_floor
from samcompare.engine.rle import Counts, decode_counts, encode_mask


def filter_crop(candidates: CandidateSet, config: AmgConfig, crop_index: int) -> MaskData:
    """What `_process_crop` returns for this crop, with `refs`/`crop_ids` in place of `rles`."""
    iou_preds = candidates.iou_preds
    stability = candidates.stability[float(config.stability_score_offset)]
    floor = processing_floor(config.pred_iou_thresh)
    if not candidates.covers(floor):
        raise ValueError(f"candidates post-processed above {candidates.floor} cannot serve {config.name!r}")
    keep = above_floor(iou_preds, floor)
    if config.stability_score_thresh > 0.0:
        keep &= stability >= config.stability_score_thresh
    # The official code computes boxes per batch; a batch left empty by the score filters yields
    # float32 boxes, and torch.cat then promotes the whole crop's boxes to float32.
    survivors = torch.cumsum(keep.to(torch.int64), 0).cpu()
    ends = torch.tensor(candidates.batch_ends, dtype=torch.int64) - 1
    per_batch = torch.diff(survivors[ends], prepend=torch.zeros(1, dtype=torch.int64)) if len(ends) else ends
    float_boxes = bool((per_batch == 0).any())
    keep &= ~candidates.near_crop_edge
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
    data.filter(keep_by_nms)
    crop_box = list(candidates.crop_box)
    data["boxes"] = uncrop_boxes_xyxy(data["boxes"], crop_box)
    data["points"] = uncrop_points(data["points"], crop_box)
    n = len(data["refs"])
    data["crop_boxes"] = torch.tensor([crop_box for _ in range(n)])
    data["crop_ids"] = torch.full((n,), crop_index, dtype=torch.int64)
    return data


def merge_crops(per_crop: list[MaskData], config: AmgConfig) -> MaskData | None:
    """`_generate_masks` after the crops: concatenate, NMS between crops, move to numpy.

    Returns None where the official code raises (crop layers and no mask left in any crop:
    `box_area` on an empty 1-D tensor); that means no masks.
    """
    data = MaskData()
    for crop_data in per_crop:
        data.cat(crop_data)
    if len(per_crop) > 1:
        if data["crop_boxes"].dim() != 2:
            return None
        scores = 1 / box_area(data["crop_boxes"])
        scores = scores.to(data["boxes"].device)
        keep_by_nms = batched_nms(
            data["boxes"].float(),
            scores,
            torch.zeros(len(data["boxes"])),
            iou_threshold=config.crop_nms_thresh,
        )
        data.filter(keep_by_nms)
    data.to_numpy()
    return data


@dataclass(frozen=True, eq=False)
class Cleaned:
    keep: np.ndarray  # indices into the input, in output order
    counts: list[Counts]  # RLE of each kept mask (re-encoded where the clean-up changed it)
    boxes: np.ndarray  # boxes of the kept masks (updated where changed), the input's dtype


def remove_small_regions_all(
    counts: list[Counts], size: tuple[int, int], boxes: np.ndarray, min_area: int, nms_thresh: float
) -> Cleaned:
    """`SamAutomaticMaskGenerator.postprocess_small_regions` without touching its inputs."""
    if len(counts) == 0:
        return Cleaned(np.zeros(0, dtype=np.int64), [], boxes.copy())
    new_boxes: list[torch.Tensor] = []
    scores: list[float] = []
    changed_counts: dict[int, Counts] = {}
    for i, mask_counts in enumerate(counts):
        mask = decode_counts(mask_counts, size)
        mask, changed = remove_small_regions(mask, min_area, mode="holes")
        unchanged = not changed
        mask, changed = remove_small_regions(mask, min_area, mode="islands")
        unchanged = unchanged and not changed
        new_boxes.append(batched_mask_to_box(torch.as_tensor(mask).unsqueeze(0))[0])
        scores.append(float(unchanged))
        if not unchanged:
            changed_counts[i] = encode_mask(mask)
    boxes_torch = torch.stack(new_boxes)
    keep_by_nms = batched_nms(
        boxes_torch.float(),
        torch.as_tensor(scores),
        torch.zeros(len(boxes_torch)),
        iou_threshold=nms_thresh,
    )
    out_boxes = boxes.copy()
    out_counts = list(counts)
    for i_mask in keep_by_nms.tolist():
        if scores[i_mask] == 0.0:
            out_counts[i_mask] = changed_counts[i_mask]
            out_boxes[i_mask] = boxes_torch[i_mask].numpy()
    keep = keep_by_nms.numpy()
    return Cleaned(keep, [out_counts[i] for i in keep.tolist()], out_boxes[keep])
