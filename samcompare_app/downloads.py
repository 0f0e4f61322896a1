"""Every export the core offers as (label, file name, MIME type, builder); download buttons and tests share it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from samcompare.results import RunMasks
from samcompare.results.exports import (
    DEFAULT_TOLERANCE,
    YoloImage,
    coco_json_bytes,
    coco_polygons_json_bytes,
    label_map_png_bytes,
    masks_zip_bytes,
    setting_code_bytes,
    setting_json_bytes,
    yolo_zip_bytes,
)
from samcompare.results.labels import MaskLabels
from samcompare.results.report import slugify


@dataclass(frozen=True)
class ExportRequest:
    """What one download needs: the image, one setting's masks, which masks, their class names, the model used."""

    image: np.ndarray
    masks: RunMasks
    mask_ids: tuple[int, ...] | None  # None: all masks
    image_name: str
    model_name: str
    labels: MaskLabels = MaskLabels()  # class names of the masks; the others are "object"
    polygon_tolerance: float = DEFAULT_TOLERANCE  # px, for the polygon and YOLO exports

    @property
    def ids(self) -> list[int] | None:
        return None if self.mask_ids is None else list(self.mask_ids)


@dataclass(frozen=True)
class ExportFormat:
    label: str
    suffix: str  # appended to the setting's slug
    mime: str
    build: Callable[[ExportRequest], bytes]
    per_mask: bool  # False: the setting itself, whatever masks are chosen


def _config(request: ExportRequest):  # noqa: ANN202 - AmgConfig; a RunMasks from the engine always has one
    assert request.masks.config is not None
    return request.masks.config


def _code(request: ExportRequest) -> bytes:
    config = _config(request)
    return setting_code_bytes(config, config.model if config.model is not None else request.model_name)


EXPORT_FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat(
        "Masks as PNGs (ZIP)",
        "_masks.zip",
        "application/zip",
        lambda r: masks_zip_bytes(r.image, r.masks, r.ids),
        True,
    ),
    ExportFormat(
        "Label map (16-bit PNG)",
        "_labels.png",
        "image/png",
        lambda r: label_map_png_bytes(r.masks, r.ids, r.image.shape),
        True,
    ),
    ExportFormat(
        "COCO JSON (RLE)",
        "_coco.json",
        "application/json",
        lambda r: coco_json_bytes(
            r.masks, r.image.shape, file_name=PurePath(r.image_name).name, mask_ids=r.ids, labels=r.labels
        ),
        True,
    ),
    ExportFormat(
        "COCO JSON (polygons)",
        "_polygons.json",
        "application/json",
        lambda r: coco_polygons_json_bytes(
            r.masks,
            r.image.shape,
            file_name=PurePath(r.image_name).name,
            mask_ids=r.ids,
            labels=r.labels,
            tolerance=r.polygon_tolerance,
        ),
        True,
    ),
    ExportFormat(
        "YOLO segmentation (ZIP)",
        "_yolo.zip",
        "application/zip",
        lambda r: yolo_zip_bytes(
            [YoloImage(PurePath(r.image_name).name, r.image, r.masks, r.ids, r.labels)], r.polygon_tolerance
        ),
        True,
    ),
    ExportFormat(
        "Setting (JSON)", "_setting.json", "application/json", lambda r: setting_json_bytes(_config(r)), False
    ),
    ExportFormat("Setting as Python code", "_setting.py", "text/x-python", _code, False),
)


EXPORT_LABELS_JA = {
    "_masks.zip": "マスクの PNG（ZIP）",
    "_labels.png": "ラベルマップ（16 ビット PNG）",
    "_coco.json": "COCO JSON（RLE）",
    "_polygons.json": "COCO JSON（ポリゴン）",
    "_yolo.zip": "YOLO セグメンテーション（ZIP）",
    "_setting.json": "設定（JSON）",
    "_setting.py": "設定の Python コード",
}


def export_label(export: ExportFormat) -> str:
    """The button label of an export in the session's language."""
    from samcompare_app.state import tr

    return tr(export.label, EXPORT_LABELS_JA.get(export.suffix, export.label))


def file_name(setting_name: str, export: ExportFormat, mask_ids: Sequence[int] | None) -> str:
    subset = "_selected" if export.per_mask and mask_ids is not None else ""
    return f"{slugify(setting_name)}{subset}{export.suffix}"
