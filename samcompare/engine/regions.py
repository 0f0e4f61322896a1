"""The small-region clean-up on the window around a mask, not the whole image: the same result, a fraction of the cost.

`SamAutomaticMaskGenerator.postprocess_small_regions` decodes each mask at full size and runs
OpenCV's connected components on it twice (holes, then islands). Only components smaller than
`min_mask_region_area` (A) change anything, and the window below is chosen so that every
component is judged as on the full image:

- every pixel outside the mask's box is background, so every island lies inside the box;
- the box is widened by ceil(A / w) rows above and below and ceil(A / h) columns left and right
  (w, h: the box's size), clipped to the image. Each band added is a rectangle of background of
  at least A pixels, so a background component reaching the window's edge (where the image goes
  on) holds a whole band: it is not small in the window, and not small on the full image either
  (every background pixel beyond the window joins such a band). A component that does not reach
  such an edge lies wholly inside the window, with its true size.

So the same components are filled or removed, `segment_anything`'s own `remove_small_regions`
runs on the window, and the mask, its changed flag and its box equal the full-image ones (tested
against the official functions). OpenCV numbers components in raster order, which a window keeps,
so even "keep the largest island" picks the same one among equals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from segment_anything.utils.amg import batched_mask_to_box, remove_small_regions

from samcompare.engine.rle import Counts, decode_counts, encode_crop_masks, encode_mask

Box = tuple[int, int, int, int]  # x0, y0, x1, y1, inclusive: `batched_mask_to_box`'s convention


def counts_box(counts: Counts, size: tuple[int, int]) -> Box | None:
    """The mask's inclusive XYXY box from its column-major RLE counts alone (None for an empty mask)."""
    height = int(size[0])
    bounds = np.cumsum(np.asarray(counts, dtype=np.int64))
    ends = bounds[1::2]
    starts = bounds[0::2][: len(ends)]
    filled = ends > starts
    starts, ends = starts[filled], ends[filled]
    if len(starts) == 0:
        return None
    first_column, last_column = starts // height, (ends - 1) // height
    x0, x1 = int(first_column[0]), int(last_column[-1])
    if bool((first_column != last_column).any()):
        return x0, 0, x1, height - 1  # a run wraps from a column's bottom row to the next column's top row
    return x0, int((starts % height).min()), x1, int(((ends - 1) % height).max())


def decode_columns(counts: Counts, size: tuple[int, int], first: int, last: int) -> np.ndarray:
    """Columns `first`..`last` (inclusive) of the mask, (H, last - first + 1) bool, decoding nothing else."""
    height = int(size[0])
    low, high = first * height, (last + 1) * height
    bounds = np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))])
    clipped = np.clip(bounds, low, high) - low
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, np.diff(clipped))
    return flat.reshape(last - first + 1, height).transpose()


def cleanup_window(box: Box, size: tuple[int, int], min_area: int) -> Box:
    """The window (inclusive XYXY) on which the clean-up of a mask with this box gives the full image's result."""
    height, width = int(size[0]), int(size[1])
    x0, y0, x1, y1 = box
    rows = math.ceil(min_area / (x1 - x0 + 1))  # a band of `rows` rows as wide as the box holds >= min_area px
    columns = math.ceil(min_area / (y1 - y0 + 1))
    return max(0, x0 - columns), max(0, y0 - rows), min(width - 1, x1 + columns), min(height - 1, y1 + rows)


@dataclass(frozen=True, eq=False)
class RegionCleanup:
    """One mask after the clean-up at one area, and the largest area at which the clean-up leaves it alone."""

    changed: bool  # the official flag: some hole or island was under the area
    counts: Counts  # the cleaned mask (the input's own counts object when unchanged)
    box: torch.Tensor  # (4,) int64 XYXY of the cleaned mask, as `batched_mask_to_box` gives it
    original_box: torch.Tensor  # the same for the mask before the clean-up
    unchanged_up_to: int  # at any area up to this, no hole or island is under it: the mask stays as it is


def _components(mask: np.ndarray, holes: bool) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's labels, and the sizes of labels 1.. (holes: of the background; islands: of the mask)."""
    import cv2

    _, regions, stats, _ = cv2.connectedComponentsWithStats((holes ^ mask).astype(np.uint8), connectivity=8)
    return np.asarray(regions), np.asarray(stats)[:, -1][1:]


def _fill(
    mask: np.ndarray, regions: np.ndarray, sizes: np.ndarray, min_area: int, holes: bool
) -> tuple[np.ndarray, bool]:
    """The rest of `remove_small_regions`, line for line, from the components already labelled."""
    small_regions = [i + 1 for i, s in enumerate(sizes) if s < min_area]
    if len(small_regions) == 0:
        return mask, False
    fill_labels = [0] + small_regions
    if not holes:
        fill_labels = [i for i in range(len(sizes) + 1) if i not in fill_labels]
        if len(fill_labels) == 0:  # every island under the area: keep the largest
            fill_labels = [int(np.argmax(sizes)) + 1]
    return np.isin(regions, fill_labels), True


def clean_counts(counts: Counts, size: tuple[int, int], min_area: int) -> RegionCleanup:
    """`remove_small_regions` (holes, then islands) of one mask at `min_area`, on the window around it.

    Both labellings of the mask as it is come first; their smallest component bounds every area at
    which nothing changes (a component cut by the window is no larger inside it than outside).
    """
    box = counts_box(counts, size)
    if box is None:  # an empty mask: the official path, whatever it does with it
        return _clean_full(counts, size, min_area)
    original_box = torch.tensor(box, dtype=torch.int64)
    wx0, wy0, wx1, wy1 = cleanup_window(box, size, min_area)
    window = decode_columns(counts, size, wx0, wx1)[wy0 : wy1 + 1]
    hole_regions, hole_sizes = _components(window, holes=True)
    island_regions, island_sizes = _components(window, holes=False)
    smallest = int(min(hole_sizes.min(initial=window.size), island_sizes.min(initial=window.size)))
    if min_area <= smallest:
        return RegionCleanup(False, counts, original_box, original_box, smallest)
    filled, holes_changed = _fill(window, hole_regions, hole_sizes, min_area, holes=True)
    if holes_changed:
        island_regions, island_sizes = _components(filled, holes=False)
    cleaned, _ = _fill(filled, island_regions, island_sizes, min_area, holes=False)
    height, width = int(size[0]), int(size[1])
    new_counts = encode_crop_masks(torch.as_tensor(cleaned)[None], [wx0, wy0, wx1 + 1, wy1 + 1], height, width)[0]
    rows, columns = np.flatnonzero(cleaned.any(axis=1)), np.flatnonzero(cleaned.any(axis=0))
    new_box = (wx0 + int(columns[0]), wy0 + int(rows[0]), wx0 + int(columns[-1]), wy0 + int(rows[-1]))
    # Never empty (islands keep the largest); changed, as the official flag says, whenever a region was small.
    return RegionCleanup(True, new_counts, torch.tensor(new_box, dtype=torch.int64), original_box, smallest)


def _clean_full(counts: Counts, size: tuple[int, int], min_area: int) -> RegionCleanup:
    mask = decode_counts(counts, size)
    original_box = batched_mask_to_box(torch.as_tensor(mask).unsqueeze(0))[0]
    mask, changed = remove_small_regions(mask, min_area, mode="holes")
    unchanged = not changed
    mask, changed = remove_small_regions(mask, min_area, mode="islands")
    unchanged = unchanged and not changed
    box = batched_mask_to_box(torch.as_tensor(mask).unsqueeze(0))[0]
    return RegionCleanup(not unchanged, counts if unchanged else encode_mask(mask), box, original_box, 0)
