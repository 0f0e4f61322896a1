"""Exports of a run (all masks or a chosen subset): each returns bytes for a download button and has a write_* twin.

One module per format. The dataset formats (`EXPORT_NAMES`, what `compare --export` and `batch
--export` take) write the masks' class names as categories: `coco-rle` (`coco.py`), `coco-polygons`
(`coco_polygons.py`, polygons from `polygons.py`) and `yolo` (`yolo.py`); `read_coco` and
`read_yolo_dataset` read them back, checking the published schemas.
"""

from samcompare.results.exports.coco import (
    CocoSchemaError,
    coco_dict,
    coco_json_bytes,
    read_coco,
    write_coco_json,
)
from samcompare.results.exports.coco_polygons import (
    coco_polygons_dict,
    coco_polygons_json_bytes,
    write_coco_polygons_json,
)
from samcompare.results.exports.formats import EXPORT_NAMES, parse_export_names
from samcompare.results.exports.label_map import (
    label_map,
    label_map_png_bytes,
    read_label_map_png,
    write_label_map_png,
)
from samcompare.results.exports.png_zip import masks_zip_bytes, read_masks_zip, write_masks_zip
from samcompare.results.exports.polygons import DEFAULT_TOLERANCE, HOLE_STYLES, MaskPolygons, mask_polygons
from samcompare.results.exports.settings import (
    setting_code_bytes,
    setting_json_bytes,
    write_setting_code,
    write_setting_json,
)
from samcompare.results.exports.yolo import (
    YoloImage,
    YoloSchemaError,
    read_yolo_dataset,
    write_yolo_dataset,
    yolo_files,
    yolo_zip_bytes,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "EXPORT_NAMES",
    "HOLE_STYLES",
    "CocoSchemaError",
    "MaskPolygons",
    "YoloImage",
    "YoloSchemaError",
    "coco_dict",
    "coco_json_bytes",
    "coco_polygons_dict",
    "coco_polygons_json_bytes",
    "label_map",
    "label_map_png_bytes",
    "mask_polygons",
    "masks_zip_bytes",
    "parse_export_names",
    "read_coco",
    "read_label_map_png",
    "read_masks_zip",
    "read_yolo_dataset",
    "setting_code_bytes",
    "setting_json_bytes",
    "write_coco_json",
    "write_coco_polygons_json",
    "write_label_map_png",
    "write_masks_zip",
    "write_setting_code",
    "write_setting_json",
    "write_yolo_dataset",
    "yolo_files",
    "yolo_zip_bytes",
]
