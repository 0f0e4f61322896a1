"""YOLO segmentation: the ultralytics layout, normalised polygons, class indices, read back to the masks."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import yaml

from samcompare.config import AmgConfig
from samcompare.results.exports.polygons import iou
from samcompare.results.exports.yolo import (
    YoloImage,
    YoloSchemaError,
    read_yolo_dataset,
    write_yolo_dataset,
    yolo_files,
    yolo_zip_bytes,
)
from samcompare.results.labels import MaskLabels

LABELS = MaskLabels.from_mapping({0: "cat", 2: "dog"})


def test_dataset_round_trips_through_its_zip(scene_image, scene_masks, make_run_result):
    run = make_run_result(scene_masks, AmgConfig())
    data = yolo_zip_bytes([YoloImage("photos/scene.jpg", scene_image, run, None, LABELS)])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["data.yaml", "images/train/scene.png", "labels/train/scene.txt"]
        config = yaml.safe_load(archive.read("data.yaml"))
        lines = archive.read("labels/train/scene.txt").decode().splitlines()
    # ultralytics: train and val are required, names 0..n-1; no `path`, so the yaml's folder is the root.
    assert config == {"train": "images/train", "val": "images/train", "names": {0: "cat", 1: "dog", 2: "object"}}
    assert len(lines) == len(scene_masks)
    for line, mask_id in zip(lines, range(len(scene_masks)), strict=True):
        parts = line.split()
        assert int(parts[0]) == ["cat", "dog", "object"].index(LABELS.name(mask_id))
        values = [float(v) for v in parts[1:]]
        assert len(values) >= 6 and len(values) % 2 == 0 and min(values) >= 0.0 and max(values) <= 1.0
    dataset = read_yolo_dataset(data)
    assert dataset.names == ("cat", "dog", "object")
    np.testing.assert_array_equal(dataset.images["scene"], scene_image)
    instances = dataset.instances["scene"]
    for mask_id, instance in enumerate(instances):
        assert instance.class_name == LABELS.name(mask_id)
        assert iou(instance.mask, scene_masks[mask_id]) >= 0.98


def test_a_batch_dataset_has_every_image_and_unique_names(tmp_path, scene_image, scene_masks, make_run_result):
    run = make_run_result(scene_masks, AmgConfig())
    items = [
        YoloImage("a.png", scene_image, run, [0, 1], MaskLabels.from_mapping({1: "dog"})),
        YoloImage("a.jpg", scene_image, run, [2], None),  # same stem: a second file name
        YoloImage("b.png", scene_image, run, [], None),  # no masks: an empty label file
    ]
    folder = write_yolo_dataset(tmp_path / "yolo", items)
    dataset = read_yolo_dataset(folder)
    assert sorted(dataset.images) == ["a", "a-2", "b"]
    assert dataset.names == ("dog", "object")
    assert [i.class_name for i in dataset.instances["a"]] == ["object", "dog"]
    assert [i.class_name for i in dataset.instances["a-2"]] == ["object"]
    assert dataset.instances["b"] == ()
    assert (folder / "labels" / "train" / "b.txt").read_text() == ""


def test_tolerance_zero_reads_back_exactly(scene_image, scene_masks, make_run_result):
    run = make_run_result(scene_masks, AmgConfig())
    dataset = read_yolo_dataset(yolo_zip_bytes([YoloImage("s.png", scene_image, run)], tolerance=0.0))
    for mask_id, instance in enumerate(dataset.instances["s"]):
        np.testing.assert_array_equal(instance.mask, scene_masks[mask_id])


@pytest.mark.parametrize(
    ("path", "text", "words"),
    [
        ("labels/train/s.txt", "3 0.1 0.1 0.2 0.1 0.2 0.2\n", "class 3"),
        ("labels/train/s.txt", "0 0.1 0.1 0.2 0.1\n", "at least 3"),
        ("labels/train/s.txt", "0 0.1 0.1 1.2 0.1 0.2 0.2\n", "normalised"),
        ("data.yaml", "train: images/train\nnames: {0: a}\n", "'val'"),
    ],
)
def test_reader_refuses_datasets_off_the_format(scene_image, scene_masks, make_run_result, path, text, words):
    files = yolo_files([YoloImage("s.png", scene_image, make_run_result(scene_masks, AmgConfig()))])
    files[path] = text.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    with pytest.raises(YoloSchemaError, match=words):
        read_yolo_dataset(buffer.getvalue())
