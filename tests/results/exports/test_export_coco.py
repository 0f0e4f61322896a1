import json
import warnings

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from samcompare.config import AmgConfig
from samcompare.results.exports.coco import CocoSchemaError, coco_json_bytes, read_coco, write_coco_json
from samcompare.results.exports.coco_polygons import coco_polygons_json_bytes, write_coco_polygons_json
from samcompare.results.exports.polygons import iou
from samcompare.results.labels import MaskLabels


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


# --- categories, polygons, and the published schema ------------------------------------------------

LABELS = MaskLabels.from_mapping({0: "cat", 2: "dog", 3: "cat"})


def test_class_names_become_categories_numbered_from_one(scene_masks, make_run_result):
    run = make_run_result(scene_masks, AmgConfig())
    data = json.loads(coco_json_bytes(run, labels=LABELS))
    assert data["categories"] == [
        {"id": 1, "name": "cat", "supercategory": "object"},
        {"id": 2, "name": "dog", "supercategory": "object"},
        {"id": 3, "name": "object", "supercategory": "object"},
    ]
    names = {c["id"]: c["name"] for c in data["categories"]}
    assert [names[a["category_id"]] for a in data["annotations"]] == [
        LABELS.name(a["mask_id"]) for a in data["annotations"]
    ]
    subset = json.loads(coco_json_bytes(run, mask_ids=[1, 4], labels=LABELS))
    assert [c["name"] for c in subset["categories"]] == ["object"]  # only the names the exported masks have
    read = read_coco(coco_json_bytes(run, labels=LABELS))
    for annotation in read.annotations:
        assert np.array_equal(annotation.mask, scene_masks[annotation.raw["mask_id"]])  # RLE is exact
        assert annotation.category == LABELS.name(annotation.raw["mask_id"])
        assert annotation.raw["score"] == pytest.approx(annotation.raw["predicted_iou"])


@pytest.mark.parametrize("holes", ["bridge", "rings"])
def test_polygon_coco_loads_with_pycocotools_and_rasterises_back(tmp_path, scene_masks, make_run_result, holes):
    run = make_run_result(scene_masks, AmgConfig(name="s"))
    path = write_coco_polygons_json(tmp_path / "p.json", run, file_name="scene.png", labels=LABELS, holes=holes)
    coco = COCO(str(path))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["cat", "dog", "object"]
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert len(annotations) == len(scene_masks)
    data = json.loads(path.read_text())
    assert data["info"]["polygon_tolerance"] == 1.0 and data["info"]["polygon_holes"] == holes
    read = read_coco(path.read_bytes(), even_odd=holes == "rings")
    for annotation in read.annotations:
        expected = scene_masks[annotation.raw["mask_id"]]
        assert all(len(polygon) >= 6 and len(polygon) % 2 == 0 for polygon in annotation.raw["segmentation"])
        assert iou(annotation.mask, expected) >= 0.98
        assert annotation.area == int(expected.sum())
        if holes == "bridge":  # what pycocotools itself makes of the annotation
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                assert iou(coco.annToMask(annotation.raw).astype(bool), expected) >= 0.98


def test_polygon_tolerance_is_kept_within(scene_masks, make_run_result):
    run = make_run_result(scene_masks, AmgConfig())
    exact = read_coco(coco_polygons_json_bytes(run, tolerance=0.0))
    for annotation in exact.annotations:
        assert np.array_equal(annotation.mask, scene_masks[annotation.raw["mask_id"]])
    coarse = json.loads(coco_polygons_json_bytes(run, tolerance=3.0))
    fine = json.loads(coco_polygons_json_bytes(run, tolerance=0.0))
    points = [sum(len(p) for p in a["segmentation"]) for a in coarse["annotations"]]
    assert sum(points) < sum(sum(len(p) for p in a["segmentation"]) for a in fine["annotations"])


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: d.pop("categories"), "missing 'categories'"),
        (lambda d: d["annotations"][0].pop("iscrowd"), "missing 'iscrowd'"),
        (lambda d: d["annotations"][0].update(category_id=9), "names no category"),
        (lambda d: d["annotations"][1].update(id=1), "repeated"),
        (lambda d: d["annotations"][0].update(bbox=[0, 0, 999, 1]), "not inside"),
        (lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4]]), "at least 3"),
        (lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 500, 6]]), "leaves"),
        (lambda d: d["images"][0].update(width="128"), "wrong type"),
    ],
)
def test_reader_refuses_files_off_the_schema(scene_masks, make_run_result, damage, words):
    data = json.loads(coco_polygons_json_bytes(make_run_result(scene_masks, AmgConfig())))
    read_coco(data)  # the file as written is fine
    damage(data)
    with pytest.raises(CocoSchemaError, match=words):
        read_coco(data)
