"""Ground truth: every format loads (8- and 16-bit PNG, COCO RLE and polygons, ZIP); every bad file gives one line."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from samcompare.config import AmgConfig
from samcompare.demo.shapes import generate_scene
from samcompare.evaluation import (
    GroundTruth,
    GroundTruthError,
    ground_truth_from_label_map,
    ground_truth_from_masks,
    load_ground_truth,
)
from samcompare.results.exports.coco import coco_json_bytes
from samcompare.results.exports.png import png_bytes
from samcompare.results.exports.png_zip import masks_zip_bytes
from samcompare.results.masks import coco_rle_for_json
from tests.results.conftest import records_from_masks, run_result_from_masks

SIZE = (24, 32)  # (H, W)


def pillow_png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def label_map() -> np.ndarray:
    labels = np.zeros(SIZE, dtype=np.uint16)
    labels[2:8, 3:10] = 1
    labels[10:20, 5:9] = 256  # 256 and 257 fold onto 0 and 1 if the 16 bits are squeezed into 8
    labels[12:18, 20:30] = 257
    return labels


def objects_of(truth: GroundTruth) -> list[np.ndarray]:
    return list(truth.masks())


def same_objects(truth: GroundTruth, masks: list[np.ndarray]) -> bool:
    decoded = objects_of(truth)
    return len(decoded) == len(masks) and all(np.array_equal(a, b) for a, b in zip(decoded, masks, strict=True))


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message
    return message


# The type


def test_ground_truth_holds_rles_and_decodes_on_demand() -> None:
    labels = label_map()
    truth = ground_truth_from_label_map(labels, "labels")
    assert len(truth) == 3 and truth.image_size == SIZE and truth.source == "labels"
    assert truth.areas.tolist() == [42, 40, 60]
    assert all(isinstance(rle["counts"], bytes) for rle in truth.objects)
    assert same_objects(truth, [labels == 1, labels == 256, labels == 257])
    run = truth.run_masks()
    assert len(run) == 3 and run.image_shape == SIZE and run.areas().tolist() == [42, 40, 60]
    truth.check_image_size((24, 32, 3))
    with pytest.raises(GroundTruthError, match="^ground truth is 32 x 24 px, the image is 64 x 48 px$"):
        truth.check_image_size((48, 64))


def test_from_masks_keeps_order_and_refuses_mixed_sizes() -> None:
    a, b = np.zeros(SIZE, bool), np.zeros(SIZE, bool)
    a[0, 0], b[5:7, 5:7] = True, True
    truth = ground_truth_from_masks([b, a], "two")
    assert truth.areas.tolist() == [4, 1]
    with pytest.raises(GroundTruthError, match="ground truth is 10 x 10 px, the image is 32 x 24 px"):
        ground_truth_from_masks([a, np.zeros((10, 10), bool)], "mixed")


# Label-map PNGs


def test_label_map_png_8_bit() -> None:
    labels = label_map().astype(np.uint8)  # 256 -> 0, 257 -> 1: two objects left
    labels[labels == 1] = 7
    truth = load_ground_truth(pillow_png(labels), SIZE, file_name="labels8.png")
    assert same_objects(truth, [labels == 7])
    assert truth.source == "labels8.png (label map)"


@pytest.mark.parametrize("writer", ["pillow", "opencv"])
def test_label_map_png_16_bit_keeps_every_label(writer: str) -> None:
    labels = label_map()
    data = pillow_png(labels) if writer == "pillow" else png_bytes(labels)
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    truth = load_ground_truth(data, SIZE, file_name="labels16.png")
    assert same_objects(truth, [labels == 1, labels == 256, labels == 257])


def test_label_map_png_big_endian_and_palette_and_grey_rgb() -> None:
    labels = label_map()
    big_endian = Image.frombytes("I;16B", (SIZE[1], SIZE[0]), labels.astype(">u2").tobytes())
    buffer = io.BytesIO()
    big_endian.save(buffer, format="PNG")
    assert same_objects(load_ground_truth(buffer.getvalue(), SIZE), [labels == 1, labels == 256, labels == 257])

    small = (labels % 250).astype(np.uint8)  # values 0, 1, 6, 7
    palette = Image.fromarray(small, mode="L").convert("P")  # P keeps indices, not colours
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode == "P"
    expected = [small == value for value in (1, 6, 7)]
    assert same_objects(load_ground_truth(buffer.getvalue(), SIZE), expected)
    grey_rgb = np.repeat(small[..., None], 3, axis=2)
    assert same_objects(load_ground_truth(pillow_png(grey_rgb), SIZE), expected)


# COCO JSON


def scene_masks() -> list[np.ndarray]:
    return generate_scene(np.random.default_rng(2), *SIZE).object_masks()


def test_coco_json_with_compressed_rle_as_our_export_writes_it() -> None:
    masks = scene_masks()
    data = coco_json_bytes(records_from_masks(masks), SIZE, file_name="scene.png")
    truth = load_ground_truth(data, SIZE, file_name="scene.json")
    assert same_objects(truth, masks) and truth.source == "scene.json (COCO JSON)"


def test_coco_json_with_uncompressed_rle_polygons_and_skipped_annotations() -> None:
    masks = scene_masks()
    uncompressed = records_from_masks(masks, "uncompressed_rle")
    polygon_square = np.zeros(SIZE, bool)
    polygon_square[2:5, 2:6] = True  # pycocotools fills (2, 2)-(6, 5) as rows 2-4, columns 2-5
    data = {
        "images": [{"id": 7, "file_name": "scene.png", "height": SIZE[0], "width": SIZE[1]}],
        "annotations": [
            *({"id": i, "image_id": 7, "segmentation": r["segmentation"]} for i, r in enumerate(uncompressed)),
            {"id": 50, "image_id": 7, "segmentation": [[2, 2, 6, 2, 6, 5, 2, 5]]},
            {"id": 51, "image_id": 7, "segmentation": [[0, 0, 5, 0, 5, 5]], "iscrowd": 1},  # crowd: skipped
            {"id": 52, "image_id": 7, "bbox": [0, 0, 3, 3]},  # no mask: skipped
            {"id": 53, "image_id": 8, "segmentation": [[0, 0, 9, 0, 9, 9]]},  # another image
        ],
        "categories": [{"id": 3, "name": "thing"}],
    }
    truth = load_ground_truth(json.dumps(data).encode(), SIZE)
    assert same_objects(truth, [*masks, polygon_square])


def test_coco_json_picks_the_image_by_size_or_by_name() -> None:
    masks = scene_masks()
    rle = coco_rle_for_json(ground_truth_from_masks(masks[:1]).objects[0])
    other = coco_rle_for_json(ground_truth_from_masks([np.eye(10, dtype=bool)]).objects[0])
    images = [
        {"id": 1, "file_name": "a/small.png", "height": 10, "width": 10},
        {"id": 2, "file_name": "a/scene.png", "height": SIZE[0], "width": SIZE[1]},
    ]
    annotations = [{"id": 1, "image_id": 1, "segmentation": other}, {"id": 2, "image_id": 2, "segmentation": rle}]
    by_size = load_ground_truth(json.dumps({"images": images, "annotations": annotations}).encode(), SIZE)
    assert same_objects(by_size, masks[:1]) and "image a/scene.png" in by_size.source

    twin = {"id": 3, "file_name": "b/twin.png", "height": SIZE[0], "width": SIZE[1]}
    data = json.dumps({"images": [*images, twin], "annotations": annotations}).encode()
    with pytest.raises(GroundTruthError) as error:
        load_ground_truth(data, SIZE, file_name="many.json")
    assert one_line(error) == (
        "many.json: 2 images of 32 x 24 px and no way to choose one; keep only this image's entry and its annotations"
    )
    by_name = load_ground_truth(data, SIZE, image_name="/uploads/scene.png")
    assert same_objects(by_name, masks[:1])
    with pytest.raises(GroundTruthError, match=r"no way to choose one \(nor by the file name other.png\)"):
        load_ground_truth(data, SIZE, file_name="many.json", image_name="other.png")


def test_a_results_list_and_sam_records_load_as_one_image() -> None:
    masks = scene_masks()
    sam_records = records_from_masks(masks, "coco_rle")  # as scripts/amg.py --convert-to-rle writes them
    truth = load_ground_truth(json.dumps(sam_records).encode(), SIZE, file_name="records.json")
    assert same_objects(truth, masks)


# ZIP of mask PNGs


def test_zip_of_mask_pngs_one_object_each_empty_ones_skipped() -> None:
    masks = scene_masks()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, mask in enumerate(masks):
            archive.writestr(f"objects/{index:02d}.png", pillow_png(mask.astype(np.uint8) * 255))
        archive.writestr("objects/99_empty.png", pillow_png(np.zeros(SIZE, np.uint8)))
        archive.writestr("__MACOSX/objects/._00.png", b"resource fork")
        archive.writestr("readme.txt", "masks")
    truth = load_ground_truth(buffer.getvalue(), SIZE, file_name="masks.zip")
    assert same_objects(truth, masks) and truth.source == f"masks.zip (ZIP of {len(masks)} mask PNGs)"


def test_our_masks_zip_export_loads_without_its_overlay() -> None:
    masks = scene_masks()
    image = np.full((*SIZE, 3), 128, np.uint8)
    data = masks_zip_bytes(image, run_result_from_masks(masks, AmgConfig()))
    assert same_objects(load_ground_truth(data, SIZE), masks)


# Every bad case, one line each


def test_wrong_size_in_each_format() -> None:
    labels = label_map()
    with pytest.raises(GroundTruthError) as error:
        load_ground_truth(png_bytes(labels), (192, 256), file_name="gt.png")
    assert one_line(error) == "gt.png: ground truth is 32 x 24 px, the image is 256 x 192 px"
    coco = coco_json_bytes(records_from_masks(scene_masks()), SIZE)
    with pytest.raises(GroundTruthError, match="^gt.json: ground truth is 32 x 24 px, the image is 256 x 192 px$"):
        load_ground_truth(coco, (192, 256), file_name="gt.json")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m/0.png", pillow_png((labels > 0).astype(np.uint8)))
    with pytest.raises(GroundTruthError, match="^gt.zip/m/0.png: ground truth is 32 x 24 px, the image is 256 x 192"):
        load_ground_truth(buffer.getvalue(), (192, 256), file_name="gt.zip")
    records = json.dumps(records_from_masks(scene_masks(), "coco_rle")).encode()
    with pytest.raises(GroundTruthError, match="ground truth is 32 x 24 px, the image is 256 x 192 px"):
        load_ground_truth(records, (192, 256), file_name="records.json")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "gt: the file is empty"),
        (png_bytes(label_map())[:60], "gt: cannot read the PNG, it is truncated or corrupt"),
        (b"PK\x03\x04 this is no zip", "gt: cannot read the ZIP, it is truncated or corrupt"),
        (b'{"annotations": [', "gt: not valid JSON (Expecting value, line 1)"),
        (b'{"info": {}}', "gt: JSON, but not COCO: it has no 'annotations' list"),
        (b"\xff\xd8\xff\xe0 jpeg", "gt: a JPEG cannot hold exact labels (it is lossy); save the label map as PNG"),
        (b"GIF89a", "gt: unknown ground-truth format; give a label-map PNG, a COCO JSON file or a ZIP of mask PNGs"),
    ],
)
def test_unreadable_and_unknown_files(data: bytes, message: str) -> None:
    with pytest.raises(GroundTruthError) as error:
        load_ground_truth(data, SIZE, file_name="gt")
    assert one_line(error).startswith(message)


def test_no_objects_in_each_format() -> None:
    with pytest.raises(GroundTruthError) as error:
        load_ground_truth(png_bytes(np.zeros(SIZE, np.uint16)), SIZE, file_name="blank.png")
    assert one_line(error) == "blank.png: no objects: every pixel is 0, the background"
    crowd_only = {"annotations": [{"segmentation": [[0, 0, 5, 0, 5, 5]], "iscrowd": 1}, {"bbox": [0, 0, 1, 1]}]}
    with pytest.raises(GroundTruthError) as error:
        load_ground_truth(json.dumps(crowd_only).encode(), SIZE, file_name="gt.json")
    assert one_line(error) == (
        "gt.json: no objects for this image (1 crowd regions skipped, 1 annotations without a mask)"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("0.png", pillow_png(np.zeros(SIZE, np.uint8)))
    with pytest.raises(GroundTruthError, match="^gt.zip: no objects: every mask PNG in the ZIP is empty$"):
        load_ground_truth(buffer.getvalue(), SIZE, file_name="gt.zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "nothing")
    with pytest.raises(GroundTruthError, match="^gt.zip: the ZIP holds no PNG files"):
        load_ground_truth(buffer.getvalue(), SIZE, file_name="gt.zip")


def test_coco_files_that_cannot_be_used() -> None:
    images = [{"id": i, "height": 10, "width": 10} for i in (1, 2)]
    with pytest.raises(GroundTruthError) as error:
        load_ground_truth(json.dumps({"images": images, "annotations": []}).encode(), SIZE, file_name="gt.json")
    assert one_line(error) == "gt.json: none of its 2 images is 32 x 24 px, the image's size"
    bad_polygon = {"annotations": [{"segmentation": [[0, 0, 5, 0]]}]}
    with pytest.raises(GroundTruthError, match="a polygon needs at least 3 points"):
        load_ground_truth(json.dumps(bad_polygon).encode(), SIZE, file_name="gt.json")
    two_images = [{"image_id": 1, "segmentation": [[0, 0, 5, 0, 5, 5]]}, {"image_id": 2, "segmentation": []}]
    with pytest.raises(GroundTruthError, match="annotations of 2 images and no image sizes, so no way to choose"):
        load_ground_truth(json.dumps(two_images).encode(), SIZE, file_name="gt.json")
    colour = np.zeros((*SIZE, 3), np.uint8)
    colour[0, 0] = (255, 0, 0)
    with pytest.raises(GroundTruthError, match="a colour PNG is no label map"):
        load_ground_truth(pillow_png(colour), SIZE, file_name="colour.png")


def test_paths_load_and_a_missing_path_says_so(tmp_path) -> None:  # noqa: ANN001 - pytest's tmp_path
    path = tmp_path / "labels.png"
    path.write_bytes(png_bytes(label_map()))
    assert len(load_ground_truth(path, SIZE)) == 3
    assert load_ground_truth(path, SIZE).source == "labels.png (label map)"
    with pytest.raises(GroundTruthError, match="^absent.png: file not found$"):
        load_ground_truth(tmp_path / "absent.png", SIZE)


def test_a_16_bit_label_map_with_hundreds_of_objects() -> None:
    labels = np.arange(40 * 30, dtype=np.uint16).reshape(40, 30) // 2  # labels 0-599 of 2 px: 599 objects
    truth = load_ground_truth(png_bytes(labels), (40, 30), file_name="many.png")
    assert len(truth) == 599 and truth.areas.tolist() == [2] * 599
    assert np.array_equal(truth.mask(598), labels == 599)
