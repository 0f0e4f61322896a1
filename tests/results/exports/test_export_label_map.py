import numpy as np
import pytest

from samcompare.results.exports.label_map import label_map, label_map_png_bytes, read_label_map_png, write_label_map_png


def test_label_map_round_trips_with_smaller_masks_winning_overlaps(scene_masks, make_records):
    records = make_records(scene_masks, "uncompressed_rle")
    labels = read_label_map_png(label_map_png_bytes(records))
    assert labels.dtype == np.uint16 and labels.shape == scene_masks[0].shape
    stack = np.stack(scene_masks)
    coverage = stack.sum(axis=0)
    assert np.array_equal(labels == 0, coverage == 0)
    areas = stack.sum(axis=(1, 2))
    for index, mask in enumerate(scene_masks):
        alone = mask & (coverage == 1)
        assert np.all(labels[alone] == index + 1)
    for y, x in np.argwhere(coverage >= 2):
        covering = np.flatnonzero(stack[:, y, x])
        smallest = covering[np.argmin(areas[covering])]
        assert labels[y, x] == smallest + 1


def test_label_map_of_a_subset_numbers_the_exported_list(tmp_path, scene_masks, make_records):
    records = make_records(scene_masks)
    path = write_label_map_png(tmp_path / "labels.png", records, mask_ids=[3, 0])
    labels = read_label_map_png(path.read_bytes())
    assert set(np.unique(labels)) == {0, 1, 2}
    only_three = scene_masks[3] & ~scene_masks[0]
    assert np.all(labels[only_three] == 1)
    assert np.array_equal(labels > 0, scene_masks[3] | scene_masks[0])


def test_equal_areas_later_mask_wins(make_records):
    first = np.zeros((10, 10), dtype=bool)
    second = first.copy()
    first[0:4, 0:4] = True
    second[2:6, 2:6] = True
    labels = label_map(make_records([first, second]))
    assert labels[3, 3] == 2 and labels[0, 0] == 1 and labels[5, 5] == 2


def test_empty_run_needs_a_shape():
    assert label_map([], image_shape=(3, 4)).shape == (3, 4)
    with pytest.raises(ValueError):
        label_map([])
