"""The small-region clean-up without decoding whole images: the official result, at a fraction of the cost.

`SamAutomaticMaskGenerator.postprocess_small_regions` decodes each mask at full size and runs
OpenCV's connected components on it twice (holes, then islands); only components smaller than
`min_mask_region_area` (A) change anything. Here:

- `region_sizes` counts every hole and island from the mask's RLE runs (column segments joined
  across neighbouring columns, 8-connected as OpenCV joins pixels), so a mask whose smallest region
  is at least A is known to stay as it is without being decoded: most masks, most of the time;
- otherwise the official steps run on a window around the mask. Every pixel outside the mask's
  box is background, so every island lies inside the box; the box is widened by ceil(A / w) rows
  above and below and ceil(A / h) columns left and right (w, h: the box's size), clipped to the
  image. Each band added is a rectangle of background of at least A pixels, so a background
  component reaching the window's edge (where the image goes on) holds a whole band: it is not
  small in the window, nor on the full image (every background pixel beyond the window joins such
  a band). A component that does not reach such an edge lies wholly inside, with its true size;
- a result holds for every area with no region size between it and A (`RegionCleanup.areas`), so
  a memo cleans a mask once per distinct result, not once per area.

The mask, its changed flag and its box equal the full-image ones (tested against the official
functions). OpenCV numbers components in raster order, which a window keeps, so even "keep the
largest island" picks the same one among equals.
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


def _runs(counts: Counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, end, foreground) of each non-empty run, neighbours of one value merged, in column-major order."""
    lengths = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(lengths)
    values = (np.arange(len(lengths)) % 2).astype(bool)
    filled = lengths > 0
    ends, values, lengths = ends[filled], values[filled], lengths[filled]
    if len(values) == 0:
        return ends, ends, values
    first = np.concatenate([[True], values[1:] != values[:-1]])  # a run of the other value starts here
    group_ends = np.concatenate([np.flatnonzero(first)[1:] - 1, [len(values) - 1]])
    starts = (ends - lengths)[first]
    return starts, ends[group_ends], values[first]


def _roots(count: int, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The component (its smallest member) of each of `count` nodes joined by the edges: hook roots, then compress."""
    parent = np.arange(count)
    while True:
        low, high = np.minimum(parent[source], parent[target]), np.maximum(parent[source], parent[target])
        joined = low != high
        if not joined.any():
            return parent
        parent[high[joined]] = low[joined]  # a root hooked under a smaller one (any of them, when several)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def _component_sizes(column: np.ndarray, top: np.ndarray, bottom: np.ndarray, height: int) -> np.ndarray:
    """Sizes of the 8-connected components of column segments of one value (sorted by column, then row)."""
    count = len(column)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    stride = height + 2
    top_key, bottom_key = column * stride + top, column * stride + bottom
    # The segments of the next column that touch this one (rows overlapping or diagonal) form one index range.
    first = np.searchsorted(bottom_key, (column + 1) * stride + top - 1, side="left")
    last = np.searchsorted(top_key, (column + 1) * stride + bottom + 1, side="right") - 1
    pairs = np.maximum(last - first + 1, 0)
    source = np.repeat(np.arange(count), pairs)
    target = np.repeat(first, pairs) + np.arange(int(pairs.sum())) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    roots = _roots(count, source, target)
    sizes = np.bincount(roots, weights=bottom - top + 1, minlength=count).astype(np.int64)
    return sizes[np.unique(roots)]


def region_sizes(counts: Counts, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The pixel counts of the mask's holes (8-connected background components) and islands, from its runs.

    What `cv2.connectedComponentsWithStats` counts on the whole decoded mask (labels 1.. of the
    background, then of the mask), computed from the RLE's column runs without decoding it: a mask
    with a few hundred runs costs a few hundred segments, whatever the image's size.
    """
    height = int(size[0])
    starts, ends, values = _runs(counts)
    first_column, last_column = starts // height, (ends - 1) // height
    spans = last_column - first_column + 1
    run = np.repeat(np.arange(len(starts)), spans)
    step = np.arange(len(run)) - np.repeat(np.cumsum(spans) - spans, spans)
    column = first_column[run] + step
    top = np.where(step == 0, starts[run] % height, 0)
    bottom = np.where(column == last_column[run], (ends[run] - 1) % height, height - 1)
    foreground = values[run]
    holes = _component_sizes(column[~foreground], top[~foreground], bottom[~foreground], height)
    islands = _component_sizes(column[foreground], top[foreground], bottom[foreground], height)
    return holes, islands


def cleanup_window(box: Box, size: tuple[int, int], min_area: int) -> Box:
    """The window (inclusive XYXY) on which the clean-up of a mask with this box gives the full image's result."""
    height, width = int(size[0]), int(size[1])
    x0, y0, x1, y1 = box
    rows = math.ceil(min_area / (x1 - x0 + 1))  # a band of `rows` rows as wide as the box holds >= min_area px
    columns = math.ceil(min_area / (y1 - y0 + 1))
    return max(0, x0 - columns), max(0, y0 - rows), min(width - 1, x1 + columns), min(height - 1, y1 + rows)


@dataclass(frozen=True, eq=False)
class RegionCleanup:
    """One mask after the clean-up at one area, and every area at which the clean-up gives the very same result."""

    changed: bool  # the official flag: some hole or island was under the area
    counts: Counts  # the cleaned mask (the input's own counts object when unchanged)
    box: torch.Tensor  # (4,) int64 XYXY of the cleaned mask, as `batched_mask_to_box` gives it
    areas: tuple[int, int]  # (low, high): any area from low to high fills and removes the same regions


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
    chosen = np.zeros(len(sizes) + 1, dtype=bool)
    chosen[fill_labels] = True
    return chosen[regions], True  # np.isin(regions, fill_labels), by table


def same_result_areas(min_area: int, sizes: np.ndarray) -> tuple[int, int]:
    """The areas that find the same regions small as `min_area` does: no region size lies between them."""
    below, above = sizes[sizes < min_area], sizes[sizes >= min_area]
    low = int(below.max()) + 1 if len(below) else 1
    return low, int(above.min()) if len(above) else max(min_area, low)


def clean_counts(counts: Counts, size: tuple[int, int], min_area: int) -> RegionCleanup:
    """`remove_small_regions` (holes, then islands) of one mask at `min_area`, on the window around it.

    The result depends only on which holes, and then which islands, are smaller than the area, so
    every area with no region size between it and `min_area` gives the same result: `areas` says
    which. (A region the window cuts is no larger inside it than outside, and at least `min_area`.)
    """
    box = counts_box(counts, size)
    if box is None:  # an empty mask: the official path, whatever it does with it
        return _clean_full(counts, size, min_area)
    hole_sizes, island_sizes = region_sizes(counts, size)
    smallest = int(min(hole_sizes.min(initial=island_sizes.max()), island_sizes.min()))
    if min_area <= smallest:  # most masks: no region under the area, nothing to label or decode
        return RegionCleanup(False, counts, torch.tensor(box, dtype=torch.int64), (1, smallest))
    wx0, wy0, wx1, wy1 = cleanup_window(box, size, min_area)
    window = decode_columns(counts, size, wx0, wx1)[wy0 : wy1 + 1]
    hole_regions, hole_sizes = _components(window, holes=True)
    filled, holes_changed = _fill(window, hole_regions, hole_sizes, min_area, holes=True)
    island_regions, island_sizes = _components(filled, holes=False)
    cleaned, islands_changed = _fill(filled, island_regions, island_sizes, min_area, holes=False)
    areas = same_result_areas(min_area, np.concatenate([hole_sizes, island_sizes]))
    if not (holes_changed or islands_changed):
        return RegionCleanup(False, counts, torch.tensor(box, dtype=torch.int64), areas)
    height, width = int(size[0]), int(size[1])
    new_counts = encode_crop_masks(torch.as_tensor(cleaned)[None], [wx0, wy0, wx1 + 1, wy1 + 1], height, width)[0]
    rows, columns = np.flatnonzero(cleaned.any(axis=1)), np.flatnonzero(cleaned.any(axis=0))
    new_box = (wx0 + int(columns[0]), wy0 + int(rows[0]), wx0 + int(columns[-1]), wy0 + int(rows[-1]))
    # Never empty (islands keep the largest); changed, as the official flag says, whenever a region was small.
    return RegionCleanup(True, new_counts, torch.tensor(new_box, dtype=torch.int64), areas)


def _clean_full(counts: Counts, size: tuple[int, int], min_area: int) -> RegionCleanup:
    mask = decode_counts(counts, size)
    mask, changed = remove_small_regions(mask, min_area, mode="holes")
    unchanged = not changed
    mask, changed = remove_small_regions(mask, min_area, mode="islands")
    unchanged = unchanged and not changed
    box = batched_mask_to_box(torch.as_tensor(mask).unsqueeze(0))[0]
    return RegionCleanup(not unchanged, counts if unchanged else encode_mask(mask), box, (min_area, min_area))
