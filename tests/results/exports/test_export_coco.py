import json
import warnings

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from samcompare.config import AmgConfig
from samcompare.results.exports.coco import coco_json_bytes, write_coco_json


@pytest.mark.parametrize("mode", ["binary_mask", "coco_rle"])
def test_coco_json_loads_with_pycocotools_and_decodes_to_the_masks(tmp_path, scene_masks, make_records, mode):
    records = make_records(scene_masks, mode)
    path = write_coco_json(tmp_path / "masks.json", records, file_name="scene.png")
    coco = COCO(str(path))
    assert coco.imgs[1] == {"id": 1, "file_name": "scene.png", "height": 96, "width": 128}
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["object"]
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert len(annotations) == len(scene_masks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for annotation in sorted(annotations, key=lambda a: a["id"]):
            expected = scene_masks[annotation["mask_id"]]
            assert isinstance(annotation["segmentation"]["counts"], str)
            assert np.array_equal(coco.annToMask(annotation).astype(bool), expected)
            assert np.array_equal(mask_utils.decode(annotation["segmentation"]).astype(bool), expected)
            assert annotation["area"] == int(expected.sum())
            record = records[annotation["mask_id"]]
            assert annotation["predicted_iou"] == pytest.approx(record["predicted_iou"])
            assert annotation["point_coords"] == record["point_coords"]
            assert annotation["crop_box"] == record["crop_box"]
            ys, xs = np.nonzero(expected)
            assert annotation["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


def test_coco_json_of_engine_result_subset_carries_the_setting(scene_masks, make_run_result):
    config = AmgConfig(name="strict", pred_iou_thresh=0.98)
    data = json.loads(coco_json_bytes(make_run_result(scene_masks, config), mask_ids=[2, 5]))
    assert [a["mask_id"] for a in data["annotations"]] == [2, 5]
    assert [a["id"] for a in data["annotations"]] == [1, 2]
    assert AmgConfig.from_dict(data["info"]["setting"]) == config
