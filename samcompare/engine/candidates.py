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

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam
from segment_anything.utils.amg import batch_iterator, calculate_stability_score, is_box_near_crop_edge
from segment_anything.utils.transforms import ResizeLongestSide

from samcompare.engine.rle import Counts, area_of, encode_crop_logits, nbytes_of

# Up-scaled logits are post-processed in chunks of about this many bytes rather than a whole
# batch at once (805 MB for 64 points at 1024 px): the same values, less memory, warmer caches.
POSTPROCESS_CHUNK_BYTES = 48 << 20


@dataclass(frozen=True, eq=False)
class Embedding:
    """The image encoder's output for one crop, as `SamPredictor.set_image` would hold it."""

    features: torch.Tensor
    input_size: tuple[int, int]  # the crop resized for the encoder, before padding
    crop_size: tuple[int, int]  # (h, w) of the crop in the original image

    @property
    def nbytes(self) -> int:
        return self.features.element_size() * self.features.nelement() + 256


def compute_embedding(model: Sam, image: np.ndarray, crop_box: list[int]) -> Embedding:
    """Mirror `SamPredictor.set_image(image[crop])`; call under `torch.inference_mode()`."""
    x0, y0, x1, y1 = crop_box
    cropped = image[y0:y1, x0:x1, :]
    if model.image_format != "RGB":
        cropped = cropped[..., ::-1]
    transform = ResizeLongestSide(model.image_encoder.img_size)
    input_image = transform.apply_image(cropped)
    input_torch = torch.as_tensor(input_image, device=model.device).permute(2, 0, 1).contiguous()[None, :, :, :]
    features = model.image_encoder(model.preprocess(input_torch))
    h, w = cropped.shape[:2]
    return Embedding(features, (int(input_torch.shape[-2]), int(input_torch.shape[-1])), (int(h), int(w)))


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


def _safely_finite(logits: torch.Tensor) -> bool:
    return logits.numel() == 0 or (bool(torch.isfinite(logits).all()) and float(logits.abs().max()) < 1e30)


def _upscale_logits(
    model: Sam, low_res: torch.Tensor, input_size: tuple[int, int], crop_size: tuple[int, int]
) -> torch.Tensor:
    """`Sam.postprocess_masks` with the same values, minus work whose result is thrown away.

    1. The official code up-scales to img_size x img_size and then keeps only `input_size`; for a
       non-square crop most of the padding is never needed. With a power-of-two factor (SAM: 4)
       up-scaling just the low-res rows and columns that reach the kept region (plus the bilinear
       neighbour) with the same scale gives the same numbers: each output pixel depends only on
       its two neighbours per axis and the scale, which is exact.
    2. PyTorch's bilinear kernel computes an equal-size resize as `1 * x + 0 * x`, which is `x` for
       every finite `x`; the second resize is skipped when it maps a size onto itself and the
       logits are finite and far from overflow.
    """
    size = model.image_encoder.img_size
    low_h, low_w = low_res.shape[-2:]
    need_h = min(low_h, -(-input_size[0] * low_h // size) + 2)
    need_w = min(low_w, -(-input_size[1] * low_w // size) + 2)
    factor_h, factor_w = size // low_h, size // low_w
    exact_factors = all(f * low == size and f & (f - 1) == 0 for f, low in ((factor_h, low_h), (factor_w, low_w)))
    if (need_h, need_w) != (low_h, low_w) and exact_factors:
        masks = F.interpolate(
            low_res[..., :need_h, :need_w],
            scale_factor=(float(factor_h), float(factor_w)),
            mode="bilinear",
            align_corners=False,
        )
    else:
        masks = F.interpolate(low_res, (size, size), mode="bilinear", align_corners=False)
    masks = masks[..., : input_size[0], : input_size[1]]
    if tuple(input_size) == tuple(crop_size) and _safely_finite(low_res):
        return masks
    return F.interpolate(masks, crop_size, mode="bilinear", align_corners=False)


@dataclass(frozen=True, eq=False)
class _Processed:
    stability: dict[float, torch.Tensor]
    boxes: torch.Tensor
    counts: list[Counts]


def _postprocess(
    model: Sam,
    low_res: torch.Tensor,
    input_size: tuple[int, int],
    crop_size: tuple[int, int],
    crop_box: list[int],
    image_size: tuple[int, int],
    offsets: Sequence[float],
) -> _Processed:
    """Up-scale low-res logits (M, h, w) to the crop, then stability per offset, box and full-image RLE."""
    orig_h, orig_w = image_size
    plane_bytes = 4 * max(model.image_encoder.img_size**2, crop_size[0] * crop_size[1])
    chunk = max(1, POSTPROCESS_CHUNK_BYTES // plane_bytes)
    stability: dict[float, list[torch.Tensor]] = {o: [] for o in offsets}
    boxes: list[torch.Tensor] = []
    counts: list[Counts] = []
    for start in range(0, len(low_res), chunk):
        logits = _upscale_logits(model, low_res[start : start + chunk, None], input_size, crop_size).flatten(0, 1)
        for offset in offsets:
            stability[offset].append(calculate_stability_score(logits, model.mask_threshold, offset))
        # Thresholded masks -> full-image RLE and crop-frame boxes, in one pass over the logits.
        chunk_counts, chunk_boxes = encode_crop_logits(logits, model.mask_threshold, crop_box, orig_h, orig_w)
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
    model: Sam,
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
    """Run the prompt encoder and mask decoder over `grid` exactly as `SamAutomaticMaskGenerator._process_crop`.

    Candidates above `floor` are post-processed; with `keep_pending` the others' logits are
    returned for `complete`. Call under `torch.inference_mode()`. `on_batch(batch_index,
    n_batches)` is called after each batch.
    """
    offsets = tuple(dict.fromkeys(float(o) for o in offsets))
    crop_size = embedding.crop_size
    device = model.device
    transform = ResizeLongestSide(model.image_encoder.img_size)
    points_scale = np.array(crop_size)[None, ::-1]
    points_for_image = grid * points_scale
    n_batches = len(points_for_image) // points_per_batch + int(len(points_for_image) % points_per_batch != 0)
    image_pe = model.prompt_encoder.get_dense_pe()

    iou_parts: list[torch.Tensor] = []
    point_parts: list[torch.Tensor] = []
    processed_parts: list[tuple[torch.Tensor, _Processed]] = []
    pending_index: list[torch.Tensor] = []
    pending_logits: list[torch.Tensor] = []
    batch_ends: list[int] = []
    n = 0
    n_outputs = 3
    for batch_index, (points,) in enumerate(batch_iterator(points_per_batch, points_for_image)):
        transformed_points = transform.apply_coords(points, crop_size)
        in_points = torch.as_tensor(transformed_points, device=device)
        in_labels = torch.ones(in_points.shape[0], dtype=torch.int, device=device)
        sparse, dense = model.prompt_encoder(points=(in_points[:, None, :], in_labels[:, None]), boxes=None, masks=None)
        low_res, iou_preds = model.mask_decoder(
            image_embeddings=embedding.features,
            image_pe=image_pe,
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=True,
        )
        n_outputs = low_res.shape[1]
        flat_iou = iou_preds.flatten(0, 1)
        flat_logits = low_res.flatten(0, 1)
        iou_parts.append(flat_iou)
        point_parts.append(torch.as_tensor(points.repeat(n_outputs, axis=0)))
        wanted = above_floor(flat_iou, floor)
        index = wanted.nonzero().flatten()
        processed = _postprocess(
            model, flat_logits[index], embedding.input_size, crop_size, crop_box, image_size, offsets
        )
        processed_parts.append((index.cpu() + n, processed))
        if keep_pending:
            left = (~wanted).nonzero().flatten()
            pending_index.append(left.cpu() + n)
            pending_logits.append(flat_logits[left].cpu())
        del low_res, flat_logits
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
    model: Sam, candidates: CandidateSet, pending: PendingLogits, floor: float | None
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
    )
    completed = _with_processed(candidates, [(index, processed)], lowest_floor([floor, candidates.floor]))
    left = ~wanted
    remaining = None
    if bool(left.any()):
        remaining = dataclasses.replace(pending, index=pending.index[left], low_res=pending.low_res[left])
    return completed, remaining
