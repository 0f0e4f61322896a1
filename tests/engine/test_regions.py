"""The windowed small-region clean-up equals segment_anything's on the full image, mask by mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from segment_anything.utils.amg import batched_mask_to_box, remove_small_regions

from samcompare.engine.regions import clean_counts, counts_box, decode_columns, region_sizes
from samcompare.engine.rle import decode_counts, encode_mask


def official(mask: np.ndarray, min_area: int) -> tuple[bool, np.ndarray, torch.Tensor]:
    """What `postprocess_small_regions` does to one mask: holes, then islands, then the box of the result."""
    mask, changed = remove_small_regions(mask, min_area, mode="holes")
    unchanged = not changed
    mask, changed = remove_small_regions(mask, min_area, mode="islands")
    unchanged = unchanged and not changed
    return not unchanged, mask, batched_mask_to_box(torch.as_tensor(mask).unsqueeze(0))[0]


def random_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Blobs with holes, specks and thin strips, often touching the image's edges."""
    rows, columns = np.mgrid[:height, :width]
    mask = np.zeros((height, width), dtype=bool)
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(-0.1, 1.1) * height, rng.uniform(-0.1, 1.1) * width
        ry, rx = rng.uniform(1, 0.6 * height), rng.uniform(1, 0.6 * width)
        mask |= ((rows - cy) / ry) ** 2 + ((columns - cx) / rx) ** 2 <= 1
    specks = rng.random((height, width)) < rng.choice([0.0, 0.01, 0.05])
    mask ^= specks  # holes inside the blobs, islands outside them
    if rng.random() < 0.3:
        mask[int(rng.integers(0, height)), :] = True  # a strip across the whole width
    if rng.random() < 0.2:
        mask[:, int(rng.integers(0, width))] = rng.random() < 0.5
    return mask


@pytest.mark.parametrize("seed", range(4))
def test_windowed_cleanup_equals_the_full_image_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    checked = changed_seen = 0
    for _ in range(25):
        height, width = int(rng.integers(3, 70)), int(rng.integers(3, 70))
        mask = random_mask(rng, height, width)
        counts = encode_mask(mask)
        for min_area in (1, 2, 5, 17, 60, 400, height * width + 1):
            cleanup = clean_counts(counts, (height, width), min_area)
            want_changed, want_mask, want_box = official(mask.copy(), min_area)
            assert cleanup.changed == want_changed, (seed, min_area)
            assert np.array_equal(decode_counts(cleanup.counts, (height, width)), want_mask), (seed, min_area)
            assert cleanup.box.dtype == want_box.dtype and torch.equal(cleanup.box, want_box), (cleanup.box, want_box)
            if not cleanup.changed:
                assert cleanup.counts is counts  # unchanged masks keep their own counts object
            low, high = cleanup.areas
            assert low <= min_area <= high
            for other in {low, high, (low + high) // 2}:  # every area of the range gives the same result
                other_changed, other_mask, _ = official(mask.copy(), other)
                assert other_changed == cleanup.changed and np.array_equal(other_mask, want_mask), (min_area, other)
            checked += 1
            changed_seen += cleanup.changed
    assert changed_seen > checked // 10  # the cases do exercise the clean-up


def test_ties_between_small_islands_keep_the_same_one() -> None:
    """Every island under the area: the official code keeps the first largest in OpenCV's order."""
    mask = np.zeros((40, 50), dtype=bool)
    mask[30:33, 40:43] = True  # 9 px, later in raster order
    mask[5:8, 10:13] = True  # 9 px, first in raster order
    mask[20:22, 2:4] = True  # 4 px
    counts = encode_mask(mask)
    cleanup = clean_counts(counts, (40, 50), 20)
    want_changed, want_mask, want_box = official(mask.copy(), 20)
    assert cleanup.changed and want_changed and cleanup.areas[0] == 10  # under 10 px the 9 px islands stay
    assert np.array_equal(decode_counts(cleanup.counts, (40, 50)), want_mask) and torch.equal(cleanup.box, want_box)


def test_boxes_and_columns_come_from_the_counts() -> None:
    mask = np.zeros((6, 5), dtype=bool)
    assert counts_box(encode_mask(mask), (6, 5)) is None
    mask[2:4, 1:3] = True
    assert counts_box(encode_mask(mask), (6, 5)) == (1, 2, 2, 3)
    mask[5, 1] = mask[0, 2] = True  # a run wraps from column 1's bottom to column 2's top
    assert counts_box(encode_mask(mask), (6, 5)) == (1, 0, 2, 5)
    assert np.array_equal(decode_columns(encode_mask(mask), (6, 5), 1, 3), mask[:, 1:4])


def test_the_memo_labels_a_mask_once_for_every_area_that_leaves_it_alone(monkeypatch) -> None:
    from samcompare.engine import filtering, regions

    mask = np.zeros((30, 30), dtype=bool)
    mask[5:20, 5:20] = True
    mask[10, 10] = False  # a 1 px hole
    mask[25, 25] = True  # a 1 px island
    smooth = np.zeros((30, 30), dtype=bool)
    smooth[2:9, 3:12] = True
    counts = [encode_mask(mask), encode_mask(smooth)]
    boxes = np.stack([batched_mask_to_box(torch.as_tensor(m)[None])[0].numpy() for m in (mask, smooth)])
    areas = (1, 2, 5, 9, 80)
    wanted = [filtering.remove_small_regions_all(counts, (30, 30), boxes, area, 0.7) for area in areas]  # no memo
    calls: list[int] = []
    real = regions.clean_counts
    monkeypatch.setattr(filtering, "clean_counts", lambda c, s, a: calls.append(a) or real(c, s, a))
    memo: filtering.CleanupMemo = {}
    for area, want in zip(areas, wanted, strict=True):
        got = filtering.remove_small_regions_all(counts, (30, 30), boxes, area, 0.7, mask_keys=["a", "b"], memo=memo)
        assert np.array_equal(got.keep, want.keep) and np.array_equal(got.changed, want.changed)
        assert all(np.array_equal(x, y) for x, y in zip(got.counts, want.counts, strict=True))
        assert np.array_equal(got.boxes, want.boxes)
    # Area 1 labels both masks. "a" (a 1 px hole, a 1 px island, then a 225 px square) gives one result from
    # area 2 up to 225; "b" (63 px, no hole) is left alone up to the 36 px of background its first window
    # held, so at 80 it is labelled again (its only island, under the area, is kept as the largest).
    assert calls == [1, 1, 2, 80]


@pytest.mark.parametrize("seed", range(3))
def test_region_sizes_from_runs_equal_opencv_labels(seed: int) -> None:
    import cv2

    rng = np.random.default_rng(100 + seed)
    for _ in range(40):
        height, width = int(rng.integers(2, 60)), int(rng.integers(2, 60))
        mask = random_mask(rng, height, width) if rng.random() < 0.8 else rng.random((height, width)) < 0.5
        holes, islands = region_sizes(encode_mask(mask), (height, width))
        for working, got in ((~mask, holes), (mask, islands)):
            stats = cv2.connectedComponentsWithStats(working.astype(np.uint8), connectivity=8)[2]
            assert sorted(got.tolist()) == sorted(stats[1:, -1].tolist()), (seed, height, width)
