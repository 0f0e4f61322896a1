import numpy as np
import pytest

from samcompare.config import AmgConfig
from samcompare.results.masks import RunMasks, as_run_masks, segmentation_to_mask

MODES = ("binary_mask", "uncompressed_rle", "coco_rle")


@pytest.mark.parametrize("mode", MODES)
def test_every_output_mode_decodes_to_the_same_masks(scene_masks, make_records, mode):
    masks = RunMasks(make_records(scene_masks, mode))
    assert masks.image_shape == scene_masks[0].shape
    assert len(masks) == len(scene_masks)
    for mask_id, expected in enumerate(scene_masks):
        assert np.array_equal(masks.mask(mask_id), expected)
        assert np.array_equal(segmentation_to_mask(masks.records[mask_id]["segmentation"]), expected)
    assert masks.areas().tolist() == [int(m.sum()) for m in scene_masks]


@pytest.mark.parametrize("source", ["records", "engine result"])
def test_boxes_are_exact_mask_boxes(scene_masks, make_records, make_run_result, source):
    if source == "records":
        boxes = RunMasks(make_records(scene_masks)).boxes()
    else:
        boxes = as_run_masks(make_run_result(scene_masks, AmgConfig(name="x"))).boxes()
    for box, mask in zip(boxes, scene_masks, strict=True):
        ys, xs = np.nonzero(mask)
        assert box.tolist() == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


@pytest.mark.parametrize("mode", MODES)
def test_engine_result_is_read_from_its_counts(scene_masks, make_run_result, mode):
    result = make_run_result(scene_masks, AmgConfig(name="x", output_mode=mode))
    masks = as_run_masks(result)
    assert masks.result is result and masks.config is result.config
    for mask_id, expected in enumerate(scene_masks):
        assert np.array_equal(masks.mask(mask_id), expected)
        assert np.array_equal(segmentation_to_mask(masks.coco_rle(mask_id)), expected)
    assert masks.records[0]["predicted_iou"] == pytest.approx(float(result.predicted_ious[0]))


def test_shapes_ids_and_empty_runs_are_checked(scene_masks, make_records):
    records = make_records(scene_masks)
    with pytest.raises(ValueError, match="image is"):
        RunMasks(records, (10, 10))
    with pytest.raises(ValueError, match="needs image_shape"):
        RunMasks([])
    empty = RunMasks([], (4, 5, 3))
    assert empty.image_shape == (4, 5) and empty.areas().size == 0 and empty.boxes().shape == (0, 4)
    with pytest.raises(ValueError, match="do not exist"):
        RunMasks(records).check_ids([0, len(records)])
    masks = RunMasks(records)
    assert as_run_masks(masks) is masks


def test_areas_of_many_masks(make_records):
    """pycocotools' area() fails from 256 masks on under NumPy 2; runs often have more."""
    masks = [np.zeros((20, 20), dtype=bool) for _ in range(600)]
    for index, mask in enumerate(masks):
        mask.flat[: index % 400 + 1] = True
    areas = RunMasks(make_records(masks, "coco_rle")).areas()
    assert areas.dtype == np.int64 and areas.tolist() == [index % 400 + 1 for index in range(600)]
