"""The network-bound work: image embeddings per crop and decoded mask candidates per point grid.

A candidate set holds every (point, multimask output) candidate of one crop in the official
batch order, before any threshold: predicted IoU, stability score per offset, box, crop-edge
flag, point and full-image RLE. Every threshold-only setting can be filtered from it exactly,
because the official generator's per-batch filters act on each candidate alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam
from segment_anything.utils.amg import batch_iterator, calculate_stability_score, is_box_near_crop_edge
from segment_anything.utils.transforms import ResizeLongestSide

from samcompare.engine.rle import Counts, encode_crop_logits, nbytes_of

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


@dataclass(frozen=True, eq=False)
class CandidateSet:
    """All decoder candidates of one crop for one point grid and batch size, in official batch order.

    Scores and boxes stay on the model's device, as in the official generator, so NMS runs on the
    same device and gives the same result.
    """

    crop_box: tuple[int, int, int, int]
    image_size: tuple[int, int]  # (H, W) of the full image; the RLEs' size
    iou_preds: torch.Tensor  # (N,) float32
    stability: Mapping[float, torch.Tensor]  # stability_score_offset -> (N,) float32
    boxes: torch.Tensor  # (N, 4) int64 XYXY in the crop frame, from the thresholded mask
    near_crop_edge: torch.Tensor  # (N,) bool, `is_box_near_crop_edge`
    points: torch.Tensor  # (N, 2) float64 prompt points in the crop frame
    batch_ends: tuple[int, ...]  # candidate index where each decoder batch ends
    counts: tuple[Counts, ...]  # full-image RLE counts of each thresholded mask

    def __len__(self) -> int:
        return len(self.counts)

    @property
    def nbytes(self) -> int:
        tensors = [self.iou_preds, self.boxes, self.near_crop_edge, self.points, *self.stability.values()]
        return sum(t.element_size() * t.nelement() for t in tensors) + nbytes_of(list(self.counts)) + 512

    def with_stability(self, extra: Mapping[float, torch.Tensor]) -> CandidateSet:
        return dataclasses.replace(self, stability={**self.stability, **extra})


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


def decode_candidates(
    model: Sam,
    embedding: Embedding,
    crop_box: list[int],
    image_size: tuple[int, int],
    grid: np.ndarray,
    points_per_batch: int,
    offsets: Iterable[float],
    on_batch: Callable[[int, int], None] | None = None,
) -> CandidateSet:
    """Run the prompt encoder and mask decoder over `grid` exactly as `SamAutomaticMaskGenerator._process_crop`.

    Call under `torch.inference_mode()`. `on_batch(batch_index, n_batches)` is called after each batch.
    """
    offsets = tuple(dict.fromkeys(float(o) for o in offsets))
    orig_h, orig_w = image_size
    crop_size = embedding.crop_size
    device = model.device
    transform = ResizeLongestSide(model.image_encoder.img_size)
    points_scale = np.array(crop_size)[None, ::-1]
    points_for_image = grid * points_scale
    n_batches = len(points_for_image) // points_per_batch + int(len(points_for_image) % points_per_batch != 0)
    mask_threshold = model.mask_threshold
    image_pe = model.prompt_encoder.get_dense_pe()
    plane_bytes = 4 * max(model.image_encoder.img_size**2, crop_size[0] * crop_size[1])
    chunk_points = max(1, POSTPROCESS_CHUNK_BYTES // (3 * plane_bytes))

    iou_parts: list[torch.Tensor] = []
    stability_parts: dict[float, list[torch.Tensor]] = {o: [] for o in offsets}
    box_parts: list[torch.Tensor] = []
    point_parts: list[torch.Tensor] = []
    counts: list[Counts] = []
    batch_ends: list[int] = []
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
        iou_parts.append(iou_preds.flatten(0, 1))
        point_parts.append(torch.as_tensor(points.repeat(n_outputs, axis=0)))
        for start in range(0, low_res.shape[0], chunk_points):
            logits = _upscale_logits(
                model, low_res[start : start + chunk_points], embedding.input_size, crop_size
            ).flatten(0, 1)
            for offset in offsets:
                stability_parts[offset].append(calculate_stability_score(logits, mask_threshold, offset))
            # Thresholded masks -> full-image RLE and crop-frame boxes, in one pass over the logits.
            chunk_counts, chunk_boxes = encode_crop_logits(logits, mask_threshold, crop_box, orig_h, orig_w)
            del logits
            box_parts.append(chunk_boxes)
            counts.extend(chunk_counts)
        batch_ends.append(len(counts))
        if on_batch is not None:
            on_batch(batch_index, n_batches)

    boxes = torch.cat(box_parts) if box_parts else torch.zeros((0, 4), dtype=torch.int64, device=device)
    return CandidateSet(
        crop_box=(int(crop_box[0]), int(crop_box[1]), int(crop_box[2]), int(crop_box[3])),
        image_size=(int(orig_h), int(orig_w)),
        iou_preds=torch.cat(iou_parts),
        stability={o: torch.cat(parts) for o, parts in stability_parts.items()},
        boxes=boxes,
        near_crop_edge=is_box_near_crop_edge(boxes, list(crop_box), [0, 0, orig_w, orig_h]),
        points=torch.cat(point_parts),
        batch_ends=tuple(batch_ends),
        counts=tuple(counts),
    )
