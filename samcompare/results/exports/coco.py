"""COCO JSON of a run (instance segmentation): one image, the masks' class names as categories, RLE masks.

Categories are the class names of the exported masks (`results/labels.py`; `object` where none was
given), numbered from 1 in name order. Each annotation is COCO's (`id`, `image_id`, `category_id`,
`segmentation`, `area`, `bbox`, `iscrowd` 0) plus `score` (the mask's predicted_iou, which Label
Studio's converter reads) and SAM's own numbers (`mask_id`, the record index in the run;
`predicted_iou`, `stability_score`, `point_coords`, `crop_box`), which other readers ignore. `bbox`
and `area` are the mask's, in COCO's convention (SAM's record bbox is one pixel narrower). The
segmentation is compressed RLE with str counts, as pycocotools and CVAT (Datumaro) read it.
`coco_polygons.py` writes the same file with polygons; `read_coco` reads either back, checking the
published schema.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from samcompare.results.labels import MaskLabels, categories, class_names
from samcompare.results.masks import RunLike, RunMasks, as_run_masks, coco_rle_for_json, decode_mask

SUPERCATEGORY = "object"
DESCRIPTION = "masks from Segment Anything's automatic mask generator (samcompare)"
Segmentation = Callable[[RunMasks, int], Any]  # (masks, mask id) -> an annotation's segmentation, or None


def _plain(value: Any) -> Any:
    """Lists of Python numbers, as JSON wants (records may hold numpy values)."""
    if value is None:
        return None
    return np.asarray(value).tolist()


def category_table(names: Sequence[str]) -> list[dict[str, Any]]:
    """COCO categories of these class names: ids from 1, in `categories` order."""
    return [
        {"id": number, "name": name, "supercategory": SUPERCATEGORY}
        for number, name in enumerate(categories(names), start=1)
    ]


def rle_segmentation(masks: RunMasks, mask_id: int) -> dict[str, Any]:
    return coco_rle_for_json(masks.coco_rle(mask_id))


def coco_document(
    run: RunLike,
    segmentation: Segmentation,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
    labels: MaskLabels | None = None,
    info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A COCO instances document of the run's masks, each segmentation made by `segmentation`.

    A mask whose segmentation is None (an empty mask has no polygon) gets no annotation.
    """
    masks = as_run_masks(run, image_shape)
    height, width = masks.image_shape
    exported = masks.check_ids(mask_ids)
    names = class_names(labels, exported)
    table = category_table(names)
    category_id = {category["name"]: category["id"] for category in table}
    areas, boxes = masks.areas(), masks.boxes()
    annotations: list[dict[str, Any]] = []
    for mask_id, name in zip(exported, names, strict=True):
        shape = segmentation(masks, mask_id)
        if shape is None:
            continue
        record = masks.records[mask_id]
        predicted_iou = float(record.get("predicted_iou", float("nan")))
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": category_id[name],
                "segmentation": shape,
                "area": int(areas[mask_id]),
                "bbox": [float(v) for v in boxes[mask_id]],
                "iscrowd": 0,
                "score": predicted_iou if math.isfinite(predicted_iou) else 0.0,
                "mask_id": mask_id,
                "predicted_iou": predicted_iou,
                "stability_score": float(record.get("stability_score", float("nan"))),
                "point_coords": _plain(record.get("point_coords")),
                "crop_box": _plain(record.get("crop_box")),
            }
        )
    document_info: dict[str, Any] = {"description": DESCRIPTION, **(info or {})}
    if masks.config is not None:
        document_info["setting"] = masks.config.to_dict()
    return {
        "info": document_info,
        "images": [{"id": image_id, "file_name": file_name, "height": height, "width": width}],
        "annotations": annotations,
        "categories": table,
    }


def coco_dict(
    run: RunLike,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
    labels: MaskLabels | None = None,
) -> dict[str, Any]:
    """COCO with compressed-RLE masks (exact)."""
    return coco_document(run, rle_segmentation, image_shape, file_name, mask_ids, image_id, labels)


def json_bytes(document: Mapping[str, Any]) -> bytes:
    """Strict JSON as UTF-8 (NaN, which JSON lacks, becomes null)."""
    return json.dumps(_finite(document), allow_nan=False, ensure_ascii=False).encode("utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def coco_json_bytes(
    run: RunLike,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
    labels: MaskLabels | None = None,
) -> bytes:
    """The JSON text as UTF-8; `pycocotools.coco.COCO` loads the written file."""
    return json_bytes(coco_dict(run, image_shape, file_name, mask_ids, image_id, labels))


def write_coco_json(
    path: str | Path,
    run: RunLike,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
    labels: MaskLabels | None = None,
) -> Path:
    target = Path(path)
    target.write_bytes(coco_json_bytes(run, image_shape, file_name, mask_ids, image_id, labels))
    return target


# --- reading back ---------------------------------------------------------------------------------


class CocoSchemaError(ValueError):
    """A COCO file that does not follow the published instances schema; the message says where."""


@dataclass(frozen=True)
class CocoAnnotation:
    """One annotation read back: its category's name and its mask as a COCO reader rasterises it."""

    id: int
    image_id: int
    category: str
    mask: np.ndarray  # (H, W) bool
    area: float
    bbox: tuple[float, float, float, float]
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class CocoFile:
    images: dict[int, Mapping[str, Any]]
    categories: dict[int, str]
    annotations: tuple[CocoAnnotation, ...]


def _require(entry: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(entry, Mapping) or key not in entry:
        raise CocoSchemaError(f"{where}: missing {key!r}")
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise CocoSchemaError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def read_coco(data: bytes | str | Mapping[str, Any], even_odd: bool = False) -> CocoFile:
    """A COCO instances file checked against the published schema, its masks rasterised by pycocotools.

    Checked: the three lists and their fields' names and types, unique ids, every annotation's image
    and category, polygons of at least 3 points inside the image, RLE sizes equal to the image's,
    bbox [x, y, w, h] inside the image. Polygons are merged as pycocotools' `annToMask` does (their
    union), or with `even_odd` by the even-odd rule (for files written with holes as rings).
    """
    document = json.loads(data) if isinstance(data, bytes | str) else data
    if not isinstance(document, Mapping):
        raise CocoSchemaError("the file is not a JSON object")
    for key in ("images", "annotations", "categories"):
        _require(document, key, list, "file")
    images: dict[int, Mapping[str, Any]] = {}
    for index, image in enumerate(document["images"]):
        where = f"images[{index}]"
        image_id = _require(image, "id", int, where)
        _require(image, "file_name", str, where)
        for key in ("width", "height"):
            if _require(image, key, int, where) < 1:
                raise CocoSchemaError(f"{where}: {key} must be positive")
        if image_id in images:
            raise CocoSchemaError(f"{where}: image id {image_id} repeated")
        images[image_id] = image
    category_names: dict[int, str] = {}
    for index, category in enumerate(document["categories"]):
        where = f"categories[{index}]"
        category_id = _require(category, "id", int, where)
        name = _require(category, "name", str, where)
        _require(category, "supercategory", str, where)
        if category_id < 1 or category_id in category_names:
            raise CocoSchemaError(f"{where}: category id {category_id} is not a new id from 1")
        category_names[category_id] = name
    if len(set(category_names.values())) != len(category_names):
        raise CocoSchemaError("categories: a name is repeated")
    annotations = []
    seen: set[int] = set()
    for index, annotation in enumerate(document["annotations"]):
        where = f"annotations[{index}]"
        annotation_id = _require(annotation, "id", int, where)
        if annotation_id in seen:
            raise CocoSchemaError(f"{where}: annotation id {annotation_id} repeated")
        seen.add(annotation_id)
        image = images.get(_require(annotation, "image_id", int, where))
        if image is None:
            raise CocoSchemaError(f"{where}: image_id names no image")
        category_id = _require(annotation, "category_id", int, where)
        if category_id not in category_names:
            raise CocoSchemaError(f"{where}: category_id {category_id} names no category")
        if _require(annotation, "iscrowd", int, where) not in (0, 1):
            raise CocoSchemaError(f"{where}: iscrowd must be 0 or 1")
        area = float(_require(annotation, "area", (int, float), where))
        bbox = _require(annotation, "bbox", list, where)
        height, width = int(image["height"]), int(image["width"])
        if len(bbox) != 4 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox):
            raise CocoSchemaError(f"{where}: bbox must be 4 numbers [x, y, w, h]")
        x, y, w, h = (float(v) for v in bbox)
        if x < 0 or y < 0 or w < 0 or h < 0 or x + w > width or y + h > height:
            raise CocoSchemaError(f"{where}: bbox {bbox} is not inside the {width} x {height} image")
        mask = _segmentation_mask(annotation.get("segmentation"), height, width, where, even_odd)
        annotations.append(
            CocoAnnotation(
                annotation_id,
                int(annotation["image_id"]),
                category_names[category_id],
                mask,
                area,
                (x, y, w, h),
                annotation,
            )
        )
    return CocoFile(images, category_names, tuple(annotations))


def _segmentation_mask(segmentation: Any, height: int, width: int, where: str, even_odd: bool) -> np.ndarray:
    if isinstance(segmentation, list):
        if not segmentation:
            raise CocoSchemaError(f"{where}: an empty polygon list")
        for polygon in segmentation:
            if not isinstance(polygon, list) or len(polygon) < 6 or len(polygon) % 2:
                raise CocoSchemaError(f"{where}: a polygon is a flat list of at least 3 x, y pairs")
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in polygon):
                raise CocoSchemaError(f"{where}: polygon coordinates must be numbers")
            xs, ys = np.asarray(polygon[0::2], dtype=float), np.asarray(polygon[1::2], dtype=float)
            if xs.min() < 0 or ys.min() < 0 or xs.max() > width or ys.max() > height:
                raise CocoSchemaError(f"{where}: a polygon leaves the {width} x {height} image")
        rles = mask_utils.frPyObjects([[float(v) for v in polygon] for polygon in segmentation], height, width)
        if not even_odd:
            return decode_mask(mask_utils.merge(rles))
        result = np.zeros((height, width), dtype=bool)
        for rle in rles:
            result ^= decode_mask(rle)
        return result
    if isinstance(segmentation, Mapping):
        size = _require(segmentation, "size", list, f"{where}.segmentation")
        counts = segmentation.get("counts")
        if [int(v) for v in size] != [height, width]:
            raise CocoSchemaError(f"{where}: RLE size {size} is not the image's [{height}, {width}]")
        if isinstance(counts, str):
            return decode_mask({"size": [height, width], "counts": counts.encode("ascii")})
        if isinstance(counts, list):
            return decode_mask(mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width))
        raise CocoSchemaError(f"{where}: RLE counts must be a string or a list of numbers")
    raise CocoSchemaError(f"{where}: segmentation must be a list of polygons or an RLE")
