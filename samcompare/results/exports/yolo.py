"""A YOLO segmentation dataset in the layout ultralytics reads, from one image's masks or a batch's.

    data.yaml                   train and val (the same folder: ultralytics needs both), names
    images/train/<image>.png    each image as the engine saw it (RGB, upright), lossless
    labels/train/<image>.txt    one line per mask: class x1 y1 x2 y2 ... (normalised to [0, 1])

Each mask is one polygon (`polygons.py`, within `tolerance` px, IoU >= 0.98 rasterised back): the
parts of a mask and its holes are joined by zero-width cuts, as ultralytics' own COCO converter
joins the parts of an annotation. Coordinates are COCO's pixel-edge coordinates divided by the
image's width and height. Class indices count from 0 over the class names in name order (the COCO
exports number the same names from 1). An empty mask has no line. `read_yolo_dataset` reads a
dataset back, checking the layout and the line format.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from samcompare.results.exports.png import png_bytes, read_png
from samcompare.results.exports.polygons import DEFAULT_TOLERANCE, mask_polygons, rasterise
from samcompare.results.labels import MaskLabels, categories, class_names
from samcompare.results.masks import RunLike, as_run_masks
from samcompare.results.pictures import as_rgb

SUBSET = "train"
DATA_YAML = "data.yaml"
DECIMALS = 6


@dataclass(frozen=True, eq=False)
class YoloImage:
    """One image of the dataset: its name, pixels, masks, which masks, and their class names."""

    image_name: str
    pixels: np.ndarray = field(repr=False)
    run: RunLike = field(repr=False)
    mask_ids: Sequence[int] | None = None  # None: all masks
    labels: MaskLabels | None = None


def _stems(names: Sequence[str]) -> list[str]:
    """A file stem per image, unique (photo, photo-2, ...) and without folders."""
    stems: list[str] = []
    for name in names:
        base = PurePosixPath(str(name).replace("\\", "/")).stem or "image"
        stem, number = base, 1
        while stem in stems:
            number += 1
            stem = f"{base}-{number}"
        stems.append(stem)
    return stems


def _number(value: float) -> str:
    """`value` to DECIMALS places, rounded up: a vertex on a pixel's half (where pycocotools' rasteriser
    rounds up) stays on the same side of it, so the polygon read back covers the same pixels."""
    scaled = math.ceil(round(value * 10**DECIMALS, 3))
    text = f"{scaled / 10**DECIMALS:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def data_yaml(names: Sequence[str]) -> str:
    """The dataset's data.yaml: no `path` (ultralytics then takes the file's folder), train = val."""
    lines = [
        "# YOLO segmentation dataset written by samcompare, in the layout ultralytics reads.",
        "# train and val name the same images: ultralytics needs both. For CVAT, which reads every",
        "# key here other than names as a subset, delete the val line first (or get every shape twice).",
        f"train: images/{SUBSET}",
        f"val: images/{SUBSET}",
        "names:",
    ]
    lines += [f"  {index}: {json.dumps(name, ensure_ascii=False)}" for index, name in enumerate(names)]
    return "\n".join(lines) + "\n"


def stems(names: Sequence[str]) -> list[str]:
    """The file stem of each image in a dataset of these image names (unique, in this order)."""
    return _stems(names)


def image_files(
    stem: str,
    pixels: np.ndarray,
    run: RunLike,
    mask_ids: Sequence[int] | None,
    labels: MaskLabels | None,
    table: Sequence[str],
    tolerance: float = DEFAULT_TOLERANCE,
) -> dict[str, bytes]:
    """One image's two files (image and label file); `table` is the dataset's class names, in index order."""
    rgb = as_rgb(pixels)
    masks = as_run_masks(run, rgb.shape)
    exported = masks.check_ids(mask_ids)
    index_of = {name: index for index, name in enumerate(table)}
    height, width = masks.image_shape
    scale = np.array([width, height], dtype=np.float64)
    lines = []
    for mask_id, name in zip(exported, class_names(labels, exported), strict=True):
        shapes = mask_polygons(masks.mask(mask_id), tolerance, single=True)
        if not shapes.polygons:
            continue
        points = shapes.polygons[0] / scale
        lines.append(" ".join([str(index_of[name]), *(_number(float(v)) for v in points.reshape(-1))]))
    return {
        f"images/{SUBSET}/{stem}.png": png_bytes(rgb),
        f"labels/{SUBSET}/{stem}.txt": ("\n".join(lines) + "\n" if lines else "").encode("utf-8"),
    }


def class_table(items: Sequence[YoloImage]) -> list[str]:
    """The dataset's class names in index order: every exported mask's name, sorted."""
    names: list[str] = []
    for item in items:
        exported = as_run_masks(item.run, np.shape(item.pixels)).check_ids(item.mask_ids)
        names += class_names(item.labels, exported)
    return categories(names)


def yolo_files(items: Sequence[YoloImage], tolerance: float = DEFAULT_TOLERANCE) -> dict[str, bytes]:
    """Every file of the dataset, by its path inside the dataset folder."""
    table = class_table(items)
    files: dict[str, bytes] = {DATA_YAML: data_yaml(table).encode("utf-8")}
    for stem, item in zip(_stems([i.image_name for i in items]), items, strict=True):
        files.update(image_files(stem, item.pixels, item.run, item.mask_ids, item.labels, table, tolerance))
    return files


def yolo_zip_bytes(items: Sequence[YoloImage], tolerance: float = DEFAULT_TOLERANCE) -> bytes:
    """The dataset as a ZIP (the archive CVAT and ultralytics take once unpacked)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in yolo_files(items, tolerance).items():
            # PNGs are compressed already.
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED if name.endswith(".png") else None)
    return buffer.getvalue()


def write_yolo_dataset(folder: str | Path, items: Sequence[YoloImage], tolerance: float = DEFAULT_TOLERANCE) -> Path:
    target = Path(folder)
    for name, data in yolo_files(items, tolerance).items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target


# --- reading back ---------------------------------------------------------------------------------


class YoloSchemaError(ValueError):
    """A dataset that does not follow the ultralytics segmentation layout; the message says where."""


@dataclass(frozen=True)
class YoloInstance:
    class_index: int
    class_name: str
    polygon: np.ndarray  # (N, 2) in pixels
    mask: np.ndarray  # (H, W) bool, the polygon rasterised by pycocotools


@dataclass(frozen=True)
class YoloDataset:
    names: tuple[str, ...]
    images: dict[str, np.ndarray]  # stem -> RGB pixels
    instances: dict[str, tuple[YoloInstance, ...]]  # stem -> its label file's lines


def _dataset_files(source: str | Path | bytes) -> dict[str, bytes]:
    if isinstance(source, bytes):
        with zipfile.ZipFile(io.BytesIO(source)) as archive:
            return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    root = Path(source)
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def read_yolo_dataset(source: str | Path | bytes) -> YoloDataset:
    """A YOLO segmentation dataset (a folder or a ZIP) checked against ultralytics' layout and line format.

    Checked: data.yaml has `train` and `val` folders under images/ and `names` (0..n-1 or a list);
    every image has a label file at the same place under labels/; every line is a class index below
    the number of names and at least 3 x, y pairs in [0, 1].
    """
    import yaml

    files = _dataset_files(source)
    if DATA_YAML not in files:
        raise YoloSchemaError("no data.yaml at the dataset's root")
    config = yaml.safe_load(files[DATA_YAML].decode("utf-8"))
    if not isinstance(config, Mapping):
        raise YoloSchemaError("data.yaml is not a mapping")
    for key in ("train", "val"):
        if not isinstance(config.get(key), str):
            raise YoloSchemaError(f"data.yaml: {key!r} must name an image folder")
    raw_names: Any = config.get("names")
    if isinstance(raw_names, Mapping):
        if sorted(raw_names) != list(range(len(raw_names))):
            raise YoloSchemaError("data.yaml: names must be numbered 0..n-1")
        names = tuple(str(raw_names[i]) for i in range(len(raw_names)))
    elif isinstance(raw_names, list):
        names = tuple(str(name) for name in raw_names)
    else:
        raise YoloSchemaError("data.yaml: names is missing")
    folder = str(config["train"]).strip("/")
    if not folder.startswith("images/"):
        raise YoloSchemaError("data.yaml: train must be a folder under images/")
    labels_folder = "labels/" + folder[len("images/") :]
    images: dict[str, np.ndarray] = {}
    instances: dict[str, tuple[YoloInstance, ...]] = {}
    for name, data in sorted(files.items()):
        path = PurePosixPath(name)
        if str(path.parent) != folder:
            continue
        stem = path.stem
        pixels = read_png(data)
        label_path = f"{labels_folder}/{stem}.txt"
        if label_path not in files:
            raise YoloSchemaError(f"{name}: no label file {label_path}")
        images[stem] = pixels
        instances[stem] = _read_label_file(files[label_path].decode("utf-8"), names, pixels.shape[:2], label_path)
    if not images:
        raise YoloSchemaError(f"no images in {folder}/")
    return YoloDataset(names, images, instances)


def _read_label_file(text: str, names: Sequence[str], size: tuple[int, int], where: str) -> tuple[YoloInstance, ...]:
    height, width = size
    result = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            class_index = int(parts[0])
            values = np.array([float(v) for v in parts[1:]], dtype=np.float64)
        except ValueError:
            raise YoloSchemaError(f"{where}:{number}: not a class index and numbers") from None
        if not 0 <= class_index < len(names):
            raise YoloSchemaError(f"{where}:{number}: class {class_index} is not in 0..{len(names) - 1}")
        if len(values) < 6 or len(values) % 2:
            raise YoloSchemaError(f"{where}:{number}: a polygon needs at least 3 x, y pairs")
        if values.min() < 0 or values.max() > 1:
            raise YoloSchemaError(f"{where}:{number}: coordinates must be normalised to [0, 1]")
        polygon = values.reshape(-1, 2) * np.array([width, height], dtype=np.float64)
        mask = rasterise([polygon], (height, width))
        result.append(YoloInstance(class_index, names[class_index], polygon, mask))
    return tuple(result)
