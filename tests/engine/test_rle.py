"""The engine's RLE and boxes equal segment_anything's `mask_to_rle_pytorch`, `rle_to_mask`, `batched_mask_to_box`."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from segment_anything.modeling import Sam
from segment_anything.utils.amg import batched_mask_to_box, mask_to_rle_pytorch, rle_to_mask, uncrop_masks

from samcompare.config import AmgConfig
from samcompare.engine.rle import (
    area_of,
    decode_counts,
    decode_counts_box,
    encode_crop_logits,
    encode_mask,
    to_rle_dict,
)
from samcompare.families import SAM


def random_case(rng: np.random.Generator, trial: int) -> tuple[list[int], int, int, torch.Tensor]:
    height, width = (int(v) for v in rng.integers(1, 14, size=2))
    x0 = int(rng.integers(0, width))
    x1 = int(rng.integers(x0 + 1, width + 1))
    y0 = int(rng.integers(0, height))
    y1 = int(rng.integers(y0 + 1, height + 1))
    if trial % 5 == 0:  # the whole image
        x0, y0, x1, y1 = 0, 0, width, height
    if trial % 7 == 0:  # whole-height columns: runs continue from one column into the next
        y0, y1 = 0, height
    n = int(rng.integers(0, 5))
    logits = torch.as_tensor(rng.uniform(size=(n, y1 - y0, x1 - x0)) - rng.uniform(), dtype=torch.float32)
    if trial % 11 == 0:
        logits[:] = 1.0
    if trial % 13 == 0:
        logits[:] = -1.0
    return [x0, y0, x1, y1], height, width, logits


def test_crop_rle_and_boxes_match_segment_anything():
    rng = np.random.default_rng(0)
    checked = 0
    for trial in range(400):
        crop_box, height, width, logits = random_case(rng, trial)
        masks = logits > 0.0
        expected = mask_to_rle_pytorch(uncrop_masks(masks, crop_box, height, width))
        counts, boxes = encode_crop_logits(logits, 0.0, crop_box, height, width)
        assert torch.equal(boxes, batched_mask_to_box(masks)), (crop_box, height, width)
        assert [to_rle_dict(c, (height, width)) for c in counts] == expected
        for rle, mask_counts in zip(expected, counts, strict=True):
            official = rle_to_mask(rle)
            ours = decode_counts(mask_counts, (height, width))
            assert np.array_equal(official, ours) and official.strides == ours.strides
            assert area_of(mask_counts) == sum(rle["counts"][1::2])
            checked += 1
    assert checked > 500


def test_full_mask_round_trip():
    rng = np.random.default_rng(1)
    mask = rng.uniform(size=(37, 23)) < 0.4
    counts = encode_mask(mask)
    assert counts.tolist() == mask_to_rle_pytorch(torch.as_tensor(mask)[None])[0]["counts"]
    assert np.array_equal(decode_counts(counts, mask.shape), mask)


def _masks_of_every_kind(rng: np.random.Generator, height: int, width: int) -> list[np.ndarray]:
    """Empty, full, one pixel, noise, a blob touching the edges, one crossing columns in a single run."""
    masks = [np.zeros((height, width), bool), np.ones((height, width), bool)]
    dot = np.zeros((height, width), bool)
    dot[height - 1, width - 1] = True
    blob = np.zeros((height, width), bool)
    blob[: height // 2, width // 3 :] = True
    wrap = np.zeros((height, width), bool)
    wrap[height - 3 :, width // 3] = True
    wrap[:2, min(width // 3 + 1, width - 1)] = True  # one run from the bottom of a column into the next one's top
    masks += [dot, blob, wrap]
    masks += [rng.uniform(size=(height, width)) < p for p in (0.01, 0.3, 0.9)]
    return masks


@pytest.mark.parametrize("size", [(37, 23), (1, 40), (40, 1), (64, 64)])
def test_box_crops_from_counts_equal_the_full_decode(size):
    from pycocotools import mask as mask_utils

    for mask in _masks_of_every_kind(np.random.default_rng(size[0]), *size):
        counts = encode_mask(mask)
        box = [int(v) for v in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(mask.astype(np.uint8))))]
        x, y, w, h = box
        assert np.array_equal(decode_counts_box(counts, size, box), mask[y : y + h, x : x + w])
        # any box, also one the mask overflows
        assert np.array_equal(decode_counts_box(counts, size, (1, 0, size[1] - 1, 1)), mask[0:1, 1:])


@pytest.mark.parametrize("input_size", [(1024, 768), (768, 1024), (1024, 1024), (333, 1024), (1024, 5), (1, 1024)])
@pytest.mark.parametrize("crop_size", [None, (500, 400)])
def test_upscaling_equals_postprocess_masks(input_size, crop_size):
    """SAM's `upscale` trims and skips work of `Sam.postprocess_masks` but must give the same logits."""
    model = SimpleNamespace(image_encoder=SimpleNamespace(img_size=1024))
    torch.manual_seed(0)
    low_res = torch.randn(2, 3, 256, 256) * 5
    target = input_size if crop_size is None else crop_size
    expected = Sam.postprocess_masks(model, low_res, input_size, target)  # type: ignore[arg-type]
    actual = SAM.upscale(model, low_res, input_size, target, AmgConfig())  # type: ignore[arg-type]
    assert actual.shape == expected.shape and torch.equal(actual, expected)
