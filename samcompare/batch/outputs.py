"""Every file a batch leaves in its output folder, derived from the store alone, in a fixed order.

Because nothing here depends on the order images finished in, a batch that was killed and
started again writes the same files as one that ran through: only the timing columns differ.
Each file is written to a temporary name and renamed, so a reader never sees half a file.

    images.csv          one row per image and setting: image, setting, status, masks, coverage_pct,
                        seconds, then any metric columns stored with the results
    summary.csv         one row per setting over the folder
    paired.csv          with ground truth: each setting against the first, image by image (wins, losses,
                        mean difference of F1 at the first IoU threshold, bootstrap interval, Wilcoxon p)
    masks/<setting>/<image>.json    COCO JSON (RLE) of each image's masks for each setting (export coco-rle,
                        the default)
    polygons/<setting>/<image>.json COCO JSON with polygons (export coco-polygons)
    yolo/<setting>/     a YOLO segmentation dataset of every done image (export yolo)
    report.html         a self-contained page of charts and the worst images per setting
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samcompare.config import AmgConfig
from samcompare.evaluation.paired import PairedComparison, paired_against_first, paired_frame
from samcompare.results.exports import yolo
from samcompare.results.exports.coco import coco_json_bytes
from samcompare.results.exports.coco_polygons import coco_polygons_json_bytes
from samcompare.results.exports.formats import COCO_POLYGONS, COCO_RLE, YOLO, ExportOptions
from samcompare.results.labels import categories, class_names
from samcompare.results.report import unique_slugs
from samcompare.store import ResultStore

IMAGES_CSV = "images.csv"
SUMMARY_CSV = "summary.csv"
PAIRED_CSV = "paired.csv"
PAIRED_SEED = 0  # the bootstrap's: a batch started again writes the same paired.csv
MASKS_DIR = "masks"
POLYGONS_DIR = "polygons"
YOLO_DIR = "yolo"
EXPORT_FOLDERS = {COCO_RLE: MASKS_DIR, COCO_POLYGONS: POLYGONS_DIR, YOLO: YOLO_DIR}
REPORT_HTML = "report.html"
IMAGES_COLUMNS = ("image", "setting", "status", "masks", "coverage_pct", "seconds")
TIMING_COLUMNS = frozenset({"seconds", "seconds_total", "seconds_mean"})  # the only columns a rerun may change
HIDDEN_METRIC_KEYS = frozenset({"setting", "ground_truth_digest", "ground_truth_path"})  # stored, not columns
DONE = "done"
NOT_RUN = "not run"


@dataclass(frozen=True)
class BatchFiles:
    """The paths `write_outputs` wrote."""

    images_csv: Path
    summary_csv: Path
    masks_dir: Path
    report_html: Path
    images: pd.DataFrame
    summary: pd.DataFrame
    paired_csv: Path | None = None  # written when images.csv has the paired metric
    paired: tuple[PairedComparison, ...] = ()


def status_text(error: str | None) -> str:
    return DONE if error is None else f"failed: {error}"


def images_table(batch: pd.DataFrame, names: Sequence[str], configs: Sequence[AmgConfig]) -> pd.DataFrame:
    """One row per image (in `names` order) and setting (in `configs` order) from `ResultStore.batch_table`."""
    by_name = {name: rows for name, rows in batch.groupby("file_name", sort=False)}
    rows: list[dict[str, Any]] = []
    metric_columns: list[str] = []
    for name in names:
        found = by_name.get(name)
        error = None if found is None or pd.isna(found["error"].iloc[0]) else str(found["error"].iloc[0])
        done = found is not None and error is None
        results = {int(row.position): row for row in found.itertuples()} if found is not None and done else {}
        for position, config in enumerate(configs):
            row: dict[str, Any] = {"image": name, "setting": config.name}
            if found is None:
                row["status"] = NOT_RUN
            elif not done:
                row["status"] = status_text(error)
            else:
                result = results[position]
                row.update(
                    status=DONE,
                    masks=int(result.mask_count),
                    coverage_pct=float(result.coverage_pct),
                    seconds=float(result.timings["total"]),
                )
                for key, value in (result.metrics or {}).items():
                    if key in HIDDEN_METRIC_KEYS:
                        continue
                    if key not in metric_columns:
                        metric_columns.append(key)
                    row[key] = value
            rows.append(row)
    table = pd.DataFrame(rows, columns=[*IMAGES_COLUMNS, *metric_columns])
    table["masks"] = table["masks"].astype("Int64")
    return table


def summary_table(images: pd.DataFrame, configs: Sequence[AmgConfig], batch: pd.DataFrame) -> pd.DataFrame:
    """One row per setting: how many images ran or failed, and the spread of masks and coverage over them."""
    from samcompare.batch.metrics import GROUND_TRUTH_COLUMN, metric_means

    scores = _score_means(batch)
    metric_columns = [c for c in images.columns if c not in IMAGES_COLUMNS and c != GROUND_TRUTH_COLUMN]
    rows = []
    for position, config in enumerate(configs):
        mine = images.iloc[position :: len(configs)]  # rows are image by image, settings in order
        done = mine[mine["status"] == DONE]
        masks = done["masks"].astype(float)
        coverage = done["coverage_pct"].astype(float)
        mine_scores = scores[scores["position"] == position] if len(scores) else scores
        rows.append(
            {
                "setting": config.name,
                "images": len(mine),
                "done": len(done),
                "failed": int(mine["status"].str.startswith("failed").sum()),
                "masks_total": int(masks.sum()),
                "masks_mean": _stat(masks, np.mean),
                "masks_median": _stat(masks, np.median),
                "masks_min": _stat(masks, np.min),
                "masks_max": _stat(masks, np.max),
                "coverage_pct_mean": _stat(coverage, np.mean),
                "coverage_pct_median": _stat(coverage, np.median),
                "coverage_pct_min": _stat(coverage, np.min),
                "predicted_iou_mean": _stat(mine_scores.get("predicted_iou", pd.Series(dtype=float)), np.mean),
                "stability_score_mean": _stat(mine_scores.get("stability_score", pd.Series(dtype=float)), np.mean),
                **(metric_means(done, metric_columns) if metric_columns else {}),
                "seconds_total": float(done["seconds"].astype(float).sum()),
                "seconds_mean": _stat(done["seconds"].astype(float), np.mean),
            }
        )
    return pd.DataFrame(rows)


def _stat(values: pd.Series, function: Any) -> float:
    clean = values.dropna()
    return float(function(clean)) if len(clean) else float("nan")


def _score_means(batch: pd.DataFrame) -> pd.DataFrame:
    """Per done result, the mean predicted IoU and stability of its masks (NaN for a result without masks)."""
    done = batch[batch["error"].isna() & batch["position"].notna()]
    rows = [
        {
            "position": int(row.position),
            "predicted_iou": _number(row.statistics.get("predicted_iou_mean")),
            "stability_score": _number(row.statistics.get("stability_score_mean")),
        }
        for row in done.itertuples()
    ]
    return pd.DataFrame(rows, columns=["position", "predicted_iou", "stability_score"])


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file beside `path` and rename it: `path` is whole or untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def csv_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, float_format="%.6g", lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def write_exports(
    store: ResultStore, batch: pd.DataFrame, configs: Sequence[AmgConfig], out_dir: Path, exports: ExportOptions
) -> None:
    """Each done image's masks in every format `exports` names, per setting, in image-name order."""
    slugs = unique_slugs([config.name for config in configs])
    done = sorted(
        {(str(row.file_name), int(row.run_id)) for row in batch.itertuples() if not pd.isna(row.run_id)}
    )  # by image name: the YOLO file names (photo, photo-2, ...) do not depend on the order images ran in
    yolo_stems = yolo.stems([name for name, _ in done])
    tables: list[list[str]] = []
    if YOLO in exports.names:  # the class names over the whole folder, per setting, before any file
        names_per_setting: list[list[str]] = [[] for _ in configs]
        for _, run_id in done:
            for position, stored in enumerate(store.load_results(run_id)):
                names_per_setting[position] += class_names(stored.labels, range(len(stored.result)))
        tables = [categories(names) for names in names_per_setting]
        for slug, table in zip(slugs, tables, strict=True):
            write_atomic(out_dir / YOLO_DIR / slug / yolo.DATA_YAML, yolo.data_yaml(table).encode("utf-8"))
    for (_, run_id), stem in zip(done, yolo_stems, strict=True):
        header = store.run_header(run_id)
        pixels = store.load_run(run_id).pixels if YOLO in exports.names else None
        for position, stored in enumerate(store.load_results(run_id)):
            slug, image_name = slugs[position], header.image_name
            if COCO_RLE in exports.names:
                coco = coco_json_bytes(stored.result, file_name=image_name, labels=stored.labels)
                write_atomic(out_dir / MASKS_DIR / slug / f"{image_name}.json", coco)
            if COCO_POLYGONS in exports.names:
                polygons = coco_polygons_json_bytes(
                    stored.result,
                    file_name=image_name,
                    labels=stored.labels,
                    tolerance=exports.polygon_tolerance,
                    holes=exports.polygon_holes,
                )
                write_atomic(out_dir / POLYGONS_DIR / slug / f"{image_name}.json", polygons)
            if pixels is not None:
                files = yolo.image_files(
                    stem, pixels, stored.result, None, stored.labels, tables[position], exports.polygon_tolerance
                )
                for name, data in files.items():
                    write_atomic(out_dir / YOLO_DIR / slug / name, data)


def paired_comparisons(images: pd.DataFrame, configs: Sequence[AmgConfig], metric: str) -> list[PairedComparison]:
    """Each setting against the first on `metric`, over the done images that have it for both (images.csv rows)."""
    if metric not in images.columns:
        return []
    done = images[(images["status"] == DONE) & images[metric].notna()]
    return paired_against_first(done, [config.name for config in configs], metric, seed=PAIRED_SEED)


def write_outputs(
    store: ResultStore,
    batch_id: int,
    names: Sequence[str],
    configs: Sequence[AmgConfig],
    out_dir: Path,
    title: str = "samcompare batch",
    exports: ExportOptions | None = None,
    paired_metric: str = "f1_50",
) -> BatchFiles:
    """Write images.csv, summary.csv, paired.csv (with ground truth), the dataset exports and report.html.

    Only the files `names` of the batch are written; `paired_metric` is the images.csv column the
    settings are paired on (F1 at the first IoU threshold asked for).
    """
    from samcompare.batch.report import report_html

    exports = exports if exports is not None else ExportOptions()
    batch = store.batch_table(batch_id)
    batch = batch[batch["file_name"].isin(set(names))]
    images = images_table(batch, names, configs)
    summary = summary_table(images, configs, batch)
    masks_dir = out_dir / MASKS_DIR
    write_exports(store, batch, configs, out_dir, exports)
    thumbnails = {key: store.thumbnail_png(key) for key in sorted(set(batch["image_key"].dropna()))}
    key_of = {row.file_name: row.image_key for row in batch.itertuples() if isinstance(row.image_key, str)}
    paired = paired_comparisons(images, configs, paired_metric)
    html = report_html(title, images, summary, configs, {name: thumbnails[key] for name, key in key_of.items()}, paired)
    files = BatchFiles(
        out_dir / IMAGES_CSV,
        out_dir / SUMMARY_CSV,
        masks_dir,
        out_dir / REPORT_HTML,
        images,
        summary,
        out_dir / PAIRED_CSV if paired_metric in images.columns else None,
        tuple(paired),
    )
    write_atomic(files.images_csv, csv_bytes(images))
    write_atomic(files.summary_csv, csv_bytes(summary))
    if files.paired_csv is not None:
        write_atomic(files.paired_csv, csv_bytes(paired_frame(paired, paired_metric)))
    write_atomic(files.report_html, html.encode("utf-8"))
    return files
