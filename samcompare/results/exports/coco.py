"""COCO-style JSON of a run: one image, one "object" category, RLE masks that pycocotools reads back.

Each annotation keeps SAM's own numbers (predicted_iou, stability_score, point_coords, crop_box)
and `mask_id`, the record index in the run. `bbox` and `area` are computed from the mask by
pycocotools, in COCO's convention (SAM's record bbox is one pixel narrower).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from samcompare.results.masks import RunLike, as_run_masks, coco_rle_for_json

OBJECT_CATEGORY = {"id": 1, "name": "object", "supercategory": "object"}


def _plain(value: Any) -> Any:
    """Lists of Python numbers, as JSON wants (records may hold numpy values)."""
    if value is None:
        return None
    return np.asarray(value).tolist()


def coco_dict(
    run: RunLike,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
) -> dict[str, Any]:
    masks = as_run_masks(run, image_shape)
    height, width = masks.image_shape
    exported = masks.check_ids(mask_ids)
    areas, boxes = masks.areas(), masks.boxes()
    annotations = []
    for annotation_id, mask_id in enumerate(exported, start=1):
        record = masks.records[mask_id]
        annotations.append(
            {
                "id": annotation_id,
                "image_id": image_id,
                "category_id": OBJECT_CATEGORY["id"],
                "segmentation": coco_rle_for_json(masks.coco_rle(mask_id)),
                "area": int(areas[mask_id]),
                "bbox": [float(v) for v in boxes[mask_id]],
                "iscrowd": 0,
                "mask_id": mask_id,
                "predicted_iou": float(record.get("predicted_iou", float("nan"))),
                "stability_score": float(record.get("stability_score", float("nan"))),
                "point_coords": _plain(record.get("point_coords")),
                "crop_box": _plain(record.get("crop_box")),
            }
        )
    info: dict[str, Any] = {"description": "masks from Segment Anything's automatic mask generator (samcompare)"}
    if masks.config is not None:
        info["setting"] = masks.config.to_dict()
    return {
        "info": info,
        "images": [{"id": image_id, "file_name": file_name, "height": height, "width": width}],
        "annotations": annotations,
        "categories": [dict(OBJECT_CATEGORY)],
    }


def coco_json_bytes(
    run: RunLike,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
) -> bytes:
    """The JSON text as UTF-8; `pycocotools.coco.COCO` loads the written file."""
    return json.dumps(coco_dict(run, image_shape, file_name, mask_ids, image_id)).encode("utf-8")


def write_coco_json(
    path: str | Path,
    run: RunLike,
    image_shape: tuple[int, ...] | None = None,
    file_name: str = "image.png",
    mask_ids: Sequence[int] | None = None,
    image_id: int = 1,
) -> Path:
    target = Path(path)
    target.write_bytes(coco_json_bytes(run, image_shape, file_name, mask_ids, image_id))
    return target
