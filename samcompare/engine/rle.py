"""Uncompressed RLE in segment_anything's format, made fast and crop-aware, with boxes on the side.

`mask_to_rle_pytorch` pads every crop mask to the full image, transposes it to column-major
order, and then, per mask, scans the change indices of the whole batch (quadratic in the batch
size). Here the row-to-row changes of each crop column are found in place (no transpose, no
padding to the full image), sorted into column-major order (there are few of them) and shifted
to full-image positions: the very same counts. The same runs give each mask's box, equal to
`batched_mask_to_box`. Counts are kept as compact integer arrays; `to_rle_dict` turns them into
the official `{"size": [h, w], "counts": [...]}` dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

# segment_anything's RLE: column-major (Fortran) order, runs alternate starting with zeros.
Counts = np.ndarray


def _counts_dtype(total: int) -> type[np.signedinteger[Any]]:
    return np.int32 if total < 2**31 else np.int64


# Sort the change indices when they are fewer than 1/SORT_FRACTION of the pixels (smooth masks).
SORT_FRACTION = 64


def _column_major_changes(changes: torch.Tensor) -> np.ndarray:
    """Flat indices, in (mask, column, row) order, of the True entries of `changes` (N, rows, columns)."""
    n, rows, columns = changes.shape
    flat = np.flatnonzero(changes.cpu().numpy())  # (mask, row, column) order
    if len(flat) * SORT_FRACTION > changes.numel():
        # Many changes (noisy masks): transposing the booleans is cheaper than sorting.
        return np.flatnonzero(changes.transpose(1, 2).contiguous().cpu().numpy())
    owner, rest = np.divmod(flat, rows * columns)
    row, column = np.divmod(rest, columns)
    return np.sort((owner * columns + column) * rows + row)


def encode_crop_logits(
    logits: torch.Tensor, threshold: float | None, crop_box: list[int], orig_h: int, orig_w: int
) -> tuple[list[Counts], torch.Tensor]:
    """RLE counts in the full (orig_h, orig_w) image and crop-frame XYXY boxes of crop masks (N, hc, wc).

    `logits > threshold` are the masks (or `logits` is boolean already when `threshold` is None).
    Equals `mask_to_rle_pytorch(uncrop_masks(masks, crop_box, orig_h, orig_w))` and
    `batched_mask_to_box(masks)` (int64, on the input's device).
    """
    n, hc, wc = logits.shape
    x0, y0, _, y1 = crop_box
    device = logits.device
    if n == 0:
        return [], torch.zeros((0, 4), dtype=torch.int64, device=device)
    # Each column framed by a zero row above and below: every run starts and ends inside its column.
    framed = torch.zeros((n, hc + 2, wc), dtype=torch.bool, device=device)
    if threshold is None:
        framed[:, 1:-1, :] = logits
    else:
        torch.gt(logits, threshold, out=framed[:, 1:-1, :])
    # changes[i, r, x]: row r of column x (of the framed mask, r = hc is the frame) starts a new value.
    key = _column_major_changes(framed[:, 1:, :] ^ framed[:, :-1, :])
    del framed
    owner, rest = np.divmod(key, wc * (hc + 1))
    column, row = np.divmod(rest, hc + 1)

    # Runs alternate start/end (every framed column has an even number of changes), sorted by
    # column then row: a mask's first run has its left column and its last run its right one.
    run_owner, run_column = owner[0::2], column[0::2]
    run_top, run_bottom = row[0::2], row[1::2] - 1
    runs_per_mask = np.bincount(run_owner, minlength=n)
    has_run = runs_per_mask > 0
    boxes = np.zeros((n, 4), dtype=np.int64)
    if has_run.any():
        first = (np.cumsum(runs_per_mask) - runs_per_mask)[has_run]
        last = np.cumsum(runs_per_mask)[has_run] - 1
        boxes[has_run, 0] = run_column[first]
        boxes[has_run, 1] = np.minimum.reduceat(run_top, first)
        boxes[has_run, 2] = run_column[last]
        boxes[has_run, 3] = np.maximum.reduceat(run_bottom, first)

    total = orig_h * orig_w
    positions = (x0 + column) * orig_h + y0 + row
    owners = owner
    if y0 == 0 and y1 == orig_h and len(positions) > 1:
        # Whole-height columns touch: a run ending a column and one starting the next are one run.
        same = (positions[1:] == positions[:-1]) & (owners[1:] == owners[:-1])
        if same.any():
            drop = np.zeros(len(positions), dtype=bool)
            drop[1:] |= same
            drop[:-1] |= same
            positions, owners = positions[~drop], owners[~drop]
    inside = positions < total  # a run ending on the image's last pixel is no change
    positions, owners = positions[inside], owners[inside]
    splits = np.searchsorted(owners, np.arange(1, n))
    dtype = _counts_dtype(total)
    counts: list[Counts] = []
    for mask_positions in np.split(positions, splits):
        bounds = np.empty(len(mask_positions) + 2, dtype=np.int64)
        bounds[0] = 0
        bounds[1:-1] = mask_positions
        bounds[-1] = total
        counts.append(np.diff(bounds).astype(dtype))
    return counts, torch.as_tensor(boxes, device=device)


def encode_crop_masks(masks: torch.Tensor, crop_box: list[int], orig_h: int, orig_w: int) -> list[Counts]:
    """RLE counts of crop-frame boolean masks (N, hc, wc) as if padded to the full (orig_h, orig_w) image."""
    return encode_crop_logits(masks, None, crop_box, orig_h, orig_w)[0]


def encode_mask(mask: np.ndarray | torch.Tensor) -> Counts:
    """RLE counts of one full-image boolean mask (H, W)."""
    tensor = torch.as_tensor(mask)
    h, w = tensor.shape
    return encode_crop_masks(tensor[None], [0, 0, w, h], h, w)[0]


def decode_counts(counts: Counts | list[int], size: tuple[int, int] | list[int]) -> np.ndarray:
    """Boolean mask (H, W) from RLE counts; same values and memory layout as `rle_to_mask`."""
    h, w = size
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, np.asarray(counts, dtype=np.int64))
    return flat.reshape(w, h).transpose()


def decode_counts_box(counts: Counts | list[int], size: tuple[int, int] | list[int], box: Sequence[int]) -> np.ndarray:
    """Boolean (h, w) part of the mask inside `box` [x, y, w, h]: only the box's columns are decoded.

    Column-major runs put columns x .. x + w - 1 in one stretch of the flat index, so a small mask on a
    large image costs its own columns, not the image. Equals `decode_counts(counts, size)[y:y+h, x:x+w]`.
    """
    height = int(size[0])
    x, y, w, h = (int(v) for v in box)
    start, stop = x * height, (x + w) * height
    lengths = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(lengths)
    inside = np.clip(ends, start, stop) - np.clip(ends - lengths, start, stop)
    values = np.zeros(len(lengths), dtype=bool)
    values[1::2] = True
    return np.repeat(values, inside).reshape(w, height)[:, y : y + h].transpose()


def area_of(counts: Counts) -> int:
    return int(np.asarray(counts[1::2], dtype=np.int64).sum())


def to_rle_dict(counts: Counts, size: tuple[int, int] | list[int]) -> dict[str, Any]:
    """The official uncompressed RLE dict (plain Python ints)."""
    return {"size": [int(size[0]), int(size[1])], "counts": counts.tolist()}


def nbytes_of(counts_list: list[Counts]) -> int:
    return sum(c.nbytes + 112 for c in counts_list)  # array payload + object header


def union_area(counts_list: Sequence[Counts]) -> int:
    """Pixels inside at least one of the masks, from their RLE counts alone (no mask is decoded)."""
    return covered_areas(counts_list, (1,))[0]


def covered_areas(counts_list: Sequence[Counts], depths: Sequence[int]) -> tuple[int, ...]:
    """For each depth d, the pixels inside at least d of the masks, from their RLE counts alone.

    Each mask's foreground runs are intervals of the column-major pixel index: one sweep over
    their sorted ends counts how many masks cover each stretch. Its cost grows with the number
    of runs, not with the image's size.
    """
    positions: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    for counts in counts_list:
        bounds = np.cumsum(np.asarray(counts, dtype=np.int64))
        run_ends = bounds[1::2]
        positions += [bounds[0::2][: len(run_ends)], run_ends]
        steps += [np.ones(len(run_ends), dtype=np.int64), np.full(len(run_ends), -1, dtype=np.int64)]
    if not positions:
        return tuple(0 for _ in depths)
    position, step = np.concatenate(positions), np.concatenate(steps)
    order = np.argsort(position, kind="stable")
    position = position[order]
    depth = np.cumsum(step[order])[:-1]  # masks covering [position[i], position[i + 1])
    lengths = np.diff(position)
    return tuple(int(lengths[depth >= d].sum()) for d in depths)
