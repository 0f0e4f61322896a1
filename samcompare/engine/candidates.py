"""The network-bound work: image embeddings per crop and decoded mask candidates per point grid.

A candidate set holds every (point, multimask output) candidate of one crop in the official
batch order: predicted IoU, prompt point, and, for the candidates a setting can keep, stability
score per offset, box, crop-edge flag and full-image RLE. Every threshold-only setting can be
filtered from it exactly, because the official generator's per-batch filters act on each
candidate alone.

Like the official generator, only candidates above the lowest `pred_iou_thresh` asked for are
scored and encoded; unlike it, only those are up-scaled too. The others stay as low-resolution
logits (`PendingLogits`), so a looser threshold later is completed from them without the network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from segment_anything.utils.amg import batch_iterator, calculate_stability_score, is_box_near_crop_edge

from samcompare.engine.rle import Counts, area_of, encode_crop_logits, nbytes_of
from samcompare.families import Embedding, family_of

if TYPE_CHECKING:
    from samcompare.config import AmgConfig

# Up-scaled logits are post-processed in chunks of about this many bytes rather than a whole
# batch at once (805 MB for 64 points at 1024 px): the same values, less memory, warmer caches.
POSTPROCESS_CHUNK_BYTES = 48 << 20


def compute_embedding(model: torch.nn.Module, image: np.ndarray, crop_box: list[int]) -> Embedding:
    """The crop's embedding, as the model family's predictor computes it; call under `torch.inference_mode()`."""
    return family_of(model).embed(model, image, crop_box)


def processing_floor(pred_iou_thresh: float) -> float | None:
    """The predicted IoU a candidate must exceed to be kept by a setting; None: no IoU filter at all.

    The official generator skips the filter when `pred_iou_thresh` is 0 (or less), keeping even
    candidates whose predicted IoU is negative or NaN.
    """
    return float(pred_iou_thresh) if pred_iou_thresh > 0.0 else None


def lowest_floor(floors: Iterable[float | None]) -> float | None:
    """The floor that serves every one of `floors` (None serves all)."""
    lowest = float("inf")
    for floor in floors:
        if floor is None:
            return None
        lowest = min(lowest, floor)
    return lowest


def above_floor(iou_preds: torch.Tensor, floor: float | None) -> torch.Tensor:
    """Which candidates a setting with this floor can keep: the official `iou_preds > pred_iou_thresh`."""
    if floor is None:
        return torch.ones(iou_preds.shape, dtype=torch.bool, device=iou_preds.device)
    return iou_preds > floor


@dataclass(frozen=True, eq=False)
class CandidateSet:
    """All decoder candidates of one crop for one point grid and batch size, in official batch order.

    Candidates above `floor` (all when None) are post-processed; the others have no RLE (None),
    a zero box and NaN stability until `complete` fills them in. Scores and boxes stay on the
    model's device, as in the official generator, so NMS runs on the same device and gives the
    same result.
    """

    crop_box: tuple[int, int, int, int]
    image_size: tuple[int, int]  # (H, W) of the full image; the RLEs' size
    iou_preds: torch.Tensor  # (N,) float32
    stability: Mapping[float, torch.Tensor]  # stability_score_offset -> (N,) float32
    boxes: torch.Tensor  # (N, 4) int64 XYXY in the crop frame, from the thresholded mask
    near_crop_edge: torch.Tensor  # (N,) bool, `is_box_near_crop_edge`
    points: torch.Tensor  # (N, 2) float64 prompt points in the crop frame
    batch_ends: tuple[int, ...]  # candidate index where each decoder batch ends
    counts: tuple[Counts | None, ...]  # full-image RLE counts of each thresholded mask
    areas: np.ndarray  # (N,) int64 pixels of each thresholded mask; -1 where not post-processed
    floor: float | None = None
    outputs_per_point: int = 3  # the decoder's multimask outputs: candidate i is output i % 3 of point i // 3

    def __len__(self) -> int:
        return len(self.counts)

    @property
    def nbytes(self) -> int:
        tensors = [self.iou_preds, self.boxes, self.near_crop_edge, self.points, *self.stability.values()]
        encoded = [c for c in self.counts if c is not None]
        return sum(t.element_size() * t.nelement() for t in tensors) + self.areas.nbytes + nbytes_of(encoded) + 512

    def covers(self, floor: float | None) -> bool:
        """True when every candidate a setting with this floor can keep is post-processed."""
        return self.floor is None or (floor is not None and floor >= self.floor)


@dataclass(frozen=True, eq=False)
class PendingLogits:
    """Low-resolution logits of the candidates a `CandidateSet` has not post-processed, on the CPU."""

    index: torch.Tensor  # (M,) int64 candidate indices, ascending
    low_res: torch.Tensor  # (M, h, w) float32, exactly as the decoder returned them
    input_size: tuple[int, int]
    crop_size: tuple[int, int]

    @property
    def nbytes(self) -> int:
        return self.low_res.element_size() * self.low_res.nelement() + 8 * len(self.index) + 256


@dataclass(frozen=True, eq=False)
class _Processed:
    stability: dict[float, torch.Tensor]
    boxes: torch.Tensor
    counts: list[Counts]


def _postprocess(
    model: torch.nn.Module,
    low_res: torch.Tensor,
    input_size: tuple[int, int],
    crop_size: tuple[int, int],
    crop_box: list[int],
    image_size: tuple[int, int],
    offsets: Sequence[float],
    config: AmgConfig,
) -> _Processed:
    """Up-scale low-res logits (M, h, w) to the crop, then stability per offset, box and full-image RLE."""
    family = family_of(model)
    threshold = family.mask_threshold(model, config)
    orig_h, orig_w = image_size
    plane_bytes = 4 * max(family.encoder_input_side(model) ** 2, crop_size[0] * crop_size[1])
    chunk = max(1, POSTPROCESS_CHUNK_BYTES // plane_bytes)
    stability: dict[float, list[torch.Tensor]] = {o: [] for o in offsets}
    boxes: list[torch.Tensor] = []
    counts: list[Counts] = []
    for start in range(0, len(low_res), chunk):
        upscaled = family.upscale(model, low_res[start : start + chunk, None], input_size, crop_size, config)
        logits = upscaled.flatten(0, 1)
        for offset in offsets:
            stability[offset].append(calculate_stability_score(logits, threshold, offset))
        # Thresholded masks -> full-image RLE and crop-frame boxes, in one pass over the logits.
        chunk_counts, chunk_boxes = encode_crop_logits(logits, threshold, crop_box, orig_h, orig_w)
        del logits
        boxes.append(chunk_boxes)
        counts.extend(chunk_counts)
    device = low_res.device
    return _Processed(
        {o: torch.cat(parts) if parts else torch.zeros(0, device=device) for o, parts in stability.items()},
        torch.cat(boxes) if boxes else torch.zeros((0, 4), dtype=torch.int64, device=device),
        counts,
    )


def _with_processed(
    candidates: CandidateSet, parts: list[tuple[torch.Tensor, _Processed]], floor: float | None
) -> CandidateSet:
    """`candidates` with each (indices, processed) part put in its place, post-processed above `floor`."""
    stability = {o: t.clone() for o, t in candidates.stability.items()}
    boxes = candidates.boxes.clone()
    counts = list(candidates.counts)
    areas = candidates.areas.copy()
    for index, processed in parts:
        device_index = index.to(boxes.device)
        for offset, values in stability.items():
            values[device_index] = processed.stability[offset]
        boxes[device_index] = processed.boxes
        for i, mask_counts in zip(index.tolist(), processed.counts, strict=True):
            counts[i] = mask_counts
            areas[i] = area_of(mask_counts)
    h, w = candidates.image_size
    return dataclasses.replace(
        candidates,
        stability=stability,
        boxes=boxes,
        near_crop_edge=is_box_near_crop_edge(boxes, list(candidates.crop_box), [0, 0, w, h]),
        counts=tuple(counts),
        areas=areas,
        floor=floor,
    )


def decode_candidates(
    model: torch.nn.Module,
    config: AmgConfig,
    embedding: Embedding,
    crop_box: list[int],
    image_size: tuple[int, int],
    grid: np.ndarray,
    points_per_batch: int,
    offsets: Iterable[float],
    floor: float | None = None,
    keep_pending: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[CandidateSet, PendingLogits | None]:
    """Run the prompt encoder and mask decoder over `grid` exactly as the official generator's `_process_crop`.

    `config` gives the decode's own options (those its family's `decode_key` names). Candidates
    above `floor` are post-processed; with `keep_pending` the others' logits are returned for
    `complete`. Call under `torch.inference_mode()`. `on_batch(batch_index, n_batches)` is called
    after each batch.
    """
    family = family_of(model)
    offsets = tuple(dict.fromkeys(float(o) for o in offsets))
    crop_size = embedding.crop_size
    device = next(model.parameters()).device
    points_scale = np.array(crop_size)[None, ::-1]
    points_for_image = grid * points_scale
    n_batches = len(points_for_image) // points_per_batch + int(len(points_for_image) % points_per_batch != 0)

    iou_parts: list[torch.Tensor] = []
    point_parts: list[torch.Tensor] = []
    processed_parts: list[tuple[torch.Tensor, _Processed]] = []
    pending_index: list[torch.Tensor] = []
    pending_logits: list[torch.Tensor] = []
    batch_ends: list[int] = []
    n = 0
    n_outputs = 3
    for batch_index, (points,) in enumerate(batch_iterator(points_per_batch, points_for_image)):
        batch = family.decode(model, embedding, points, config)
        n_outputs = batch.outputs_per_point
        flat_iou = batch.iou_preds
        flat_logits = batch.low_res
        iou_parts.append(flat_iou)
        point_parts.append(batch.points)
        wanted = above_floor(flat_iou, floor)
        index = wanted.nonzero().flatten()
        processed = _postprocess(
            model, flat_logits[index], embedding.input_size, crop_size, crop_box, image_size, offsets, config
        )
        processed_parts.append((index.cpu() + n, processed))
        if keep_pending:
            left = (~wanted).nonzero().flatten()
            pending_index.append(left.cpu() + n)
            pending_logits.append(flat_logits[left].cpu())
        del batch, flat_logits
        n += len(flat_iou)
        batch_ends.append(n)
        if on_batch is not None:
            on_batch(batch_index, n_batches)

    unprocessed = CandidateSet(
        crop_box=(int(crop_box[0]), int(crop_box[1]), int(crop_box[2]), int(crop_box[3])),
        image_size=(int(image_size[0]), int(image_size[1])),
        iou_preds=torch.cat(iou_parts),
        stability={o: torch.full((n,), float("nan"), device=device) for o in offsets},
        boxes=torch.zeros((n, 4), dtype=torch.int64, device=device),
        near_crop_edge=torch.zeros(n, dtype=torch.bool, device=device),
        points=torch.cat(point_parts),
        batch_ends=tuple(batch_ends),
        counts=(None,) * n,
        areas=np.full(n, -1, dtype=np.int64),
        outputs_per_point=n_outputs,
    )
    candidates = _with_processed(unprocessed, processed_parts, floor)
    pending = None
    if keep_pending and any(len(i) > 0 for i in pending_index):
        pending = PendingLogits(torch.cat(pending_index), torch.cat(pending_logits), embedding.input_size, crop_size)
    return candidates, pending


def complete(
    model: torch.nn.Module, config: AmgConfig, candidates: CandidateSet, pending: PendingLogits, floor: float | None
) -> tuple[CandidateSet, PendingLogits | None]:
    """Post-process the pending candidates above `floor`: the candidate set a decode with that floor gives.

    No network runs. Call under `torch.inference_mode()`.
    """
    device = candidates.iou_preds.device
    wanted = above_floor(candidates.iou_preds[pending.index.to(device)], floor).cpu()
    index = pending.index[wanted]
    processed = _postprocess(
        model,
        pending.low_res[wanted].to(device),
        pending.input_size,
        pending.crop_size,
        list(candidates.crop_box),
        candidates.image_size,
        tuple(candidates.stability),
        config,
    )
    completed = _with_processed(candidates, [(index, processed)], lowest_floor([floor, candidates.floor]))
    left = ~wanted
    remaining = None
    if bool(left.any()):
        remaining = dataclasses.replace(pending, index=pending.index[left], low_res=pending.low_res[left])
    return completed, remaining
