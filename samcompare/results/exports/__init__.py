"""Exports of a run (all masks or a chosen subset): each returns bytes for a download button and has a write_* twin."""

from samcompare.results.exports.coco import coco_dict, coco_json_bytes, write_coco_json
from samcompare.results.exports.label_map import (
    label_map,
    label_map_png_bytes,
    read_label_map_png,
    write_label_map_png,
)
from samcompare.results.exports.png_zip import masks_zip_bytes, read_masks_zip, write_masks_zip
from samcompare.results.exports.settings import (
    setting_code_bytes,
    setting_json_bytes,
    write_setting_code,
    write_setting_json,
)

__all__ = [
    "coco_dict",
    "coco_json_bytes",
    "label_map",
    "label_map_png_bytes",
    "masks_zip_bytes",
    "read_label_map_png",
    "read_masks_zip",
    "setting_code_bytes",
    "setting_json_bytes",
    "write_coco_json",
    "write_label_map_png",
    "write_masks_zip",
    "write_setting_code",
    "write_setting_json",
]
