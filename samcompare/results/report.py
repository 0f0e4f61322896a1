"""Everything a comparison leaves on disk, written in one call (used by the CLI; handy in notebooks).

Layout under `out_dir`:
    comparison.csv                      one row per setting (`comparison_table`)
    <setting-slug>/masks.coco.json      COCO RLE masks of that setting (export coco-rle, the default)
    <setting-slug>/masks.polygons.json  COCO polygons (export coco-polygons)
    <setting-slug>/yolo/                a YOLO segmentation dataset of the image (export yolo)
    <setting-slug>/masks.csv            one row per mask (`mask_table`)
    <setting-slug>/overlay.png          the masks over the image
    <setting-slug>/setting.json         the setting, loadable with `AmgConfig.from_json`
    <setting-slug>/funnel.csv           candidates left after each stage of the official pipeline
    <setting-slug>/candidates.csv       one row per candidate: its numbers and fate (kept, or the stage)
    match.csv, match.png                the first two settings' masks matched by IoU (with 2+ settings)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from samcompare.engine.result import RunResult
from samcompare.results.exports.coco import write_coco_json
from samcompare.results.exports.coco_polygons import write_coco_polygons_json
from samcompare.results.exports.formats import COCO_POLYGONS, COCO_RLE, YOLO, ExportOptions
from samcompare.results.exports.png import png_bytes
from samcompare.results.exports.settings import write_setting_json
from samcompare.results.exports.yolo import YoloImage, write_yolo_dataset
from samcompare.results.labels import MaskLabels
from samcompare.results.masks import RunMasks
from samcompare.results.matching import DEFAULT_IOU_THRESHOLD, MatchReport, match_masks
from samcompare.results.pictures import OverlayOptions, as_rgb, match_picture, overlay
from samcompare.results.stats import comparison_table, mask_table


def slugify(name: str) -> str:
    """A folder name from a setting name: ASCII lower case, words joined by '-'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or "setting"


def unique_slugs(names: Sequence[str]) -> list[str]:
    """`slugify` of each name, with -2, -3, ... appended where two names give the same folder."""
    slugs: list[str] = []
    for name in names:
        base = slugify(name)
        slug, number = base, 1
        while slug in slugs:
            number += 1
            slug = f"{base}-{number}"
        slugs.append(slug)
    return slugs


@dataclass(frozen=True)
class ComparisonFiles:
    """What `write_comparison` produced."""

    out_dir: Path
    table: pd.DataFrame  # the comparison table written to comparison.csv
    setting_dirs: tuple[Path, ...]  # one per result, in order
    match_report: MatchReport | None  # first two settings; None with fewer than two


def write_dataset_exports(
    folder: Path,
    image: np.ndarray,
    run: RunMasks,
    image_file_name: str,
    exports: ExportOptions,
    labels: MaskLabels | None = None,
) -> None:
    """One setting's dataset files in `folder`, in the formats `exports` names."""
    if COCO_RLE in exports.names:
        write_coco_json(folder / "masks.coco.json", run, file_name=image_file_name, labels=labels)
    if COCO_POLYGONS in exports.names:
        write_coco_polygons_json(
            folder / "masks.polygons.json",
            run,
            file_name=image_file_name,
            labels=labels,
            tolerance=exports.polygon_tolerance,
            holes=exports.polygon_holes,
        )
    if YOLO in exports.names:
        write_yolo_dataset(
            folder / "yolo", [YoloImage(image_file_name, image, run, None, labels)], exports.polygon_tolerance
        )


def write_comparison(
    out_dir: str | Path,
    image: np.ndarray,
    results: Sequence[RunResult],
    image_file_name: str = "image.png",
    iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    overlay_options: OverlayOptions | None = None,
    exports: ExportOptions | None = None,
    labels: Sequence[MaskLabels | None] | None = None,
) -> ComparisonFiles:
    """Write the comparison table, each setting's exports and the first two settings' match report.

    `exports` chooses the dataset formats (COCO RLE by default); `labels` gives each result's class names.
    """
    exports = exports if exports is not None else ExportOptions()
    per_result = list(labels) if labels is not None else [None] * len(results)
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    image_rgb = as_rgb(image)
    runs = [RunMasks(result, image_rgb.shape) for result in results]
    table = comparison_table(runs)
    table.to_csv(target / "comparison.csv", index=False)
    setting_dirs = []
    slugs = unique_slugs([result.config.name for result in results])
    for run, result, slug, names in zip(runs, results, slugs, per_result, strict=True):
        folder = target / slug
        folder.mkdir(exist_ok=True)
        assert run.config is not None
        write_dataset_exports(folder, image_rgb, run, image_file_name, exports, names)
        mask_table(run).to_csv(folder / "masks.csv", index=False)
        (folder / "overlay.png").write_bytes(png_bytes(overlay(image_rgb, run, overlay_options)))
        write_setting_json(folder / "setting.json", run.config)
        funnel = result.funnel
        if funnel is not None:
            funnel.frame().to_csv(folder / "funnel.csv", index=False)
            funnel.table().to_csv(folder / "candidates.csv", index=False)
        setting_dirs.append(folder)
    report = None
    if len(runs) >= 2:
        report = match_masks(runs[0], runs[1], iou_threshold=iou_threshold)
        report.pairs_frame().to_csv(target / "match.csv", index=False)
        picture = match_picture(image_rgb, runs[0], runs[1], report, legend=True)
        (target / "match.png").write_bytes(png_bytes(picture))
    return ComparisonFiles(target, table, tuple(setting_dirs), report)
