"""Ground-truth metrics for a batch: each image's ground truth found by file stem, scored as `evaluate` scores it.

Metrics are computed on the driver from the stored results (the masks as the official generator
gives them), after the images ran, and stored with each result. A result that already carries
metrics of the same ground-truth file (same bytes) is left alone, so a batch started again, or
the same command with `--gt-dir` added later, scores only what it has not scored: no image is
run again for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from samcompare.evaluation import GroundTruthError, evaluate_run, load_ground_truth
from samcompare.store import ResultStore

GROUND_TRUTH_COLUMN = "ground_truth"  # which file scored the row (shown in images.csv)
DIGEST_KEY = "ground_truth_digest"  # kept with the metrics, not shown: a changed file is scored again
PATH_KEY = "ground_truth_path"  # kept with the metrics, not shown: where the app finds it again to tune


class GroundTruthFolderError(ValueError):
    """A ground-truth folder the batch cannot use: missing, or two files for one image."""


def ground_truth_files(gt_dir: Path) -> dict[str, Path]:
    """Ground-truth files by stem (`scene_01.png` is scored with `scene_01.png`, `.json` or `.zip` there)."""
    if not gt_dir.is_dir():
        raise GroundTruthFolderError(f"ground-truth folder not found: {gt_dir}")
    files: dict[str, Path] = {}
    for path in sorted(gt_dir.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.stem in files:
            raise GroundTruthFolderError(
                f"two ground-truth files for images named {path.stem!r}: {files[path.stem].name} and {path.name}"
            )
        files[path.stem] = path
    return files


def _digest(path: Path) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def score_batch(
    store: ResultStore,
    batch_id: int,
    gt_files: dict[str, Path],
    iou_thresholds: Sequence[float],
    echo: Callable[[str], None] = print,
) -> int:
    """Store metrics for every done image of the batch that has ground truth and lacks its metrics; how many scored."""
    table = store.batch_table(batch_id)
    done = table[table["error"].isna() & table["run_id"].notna()]
    scored = 0
    for (file_name, run_id), rows in done.groupby(["file_name", "run_id"], sort=True):
        path = gt_files.get(Path(str(file_name)).stem)
        if path is None:
            continue
        digest = _digest(path)
        if all(_current(metrics, digest, iou_thresholds) for metrics in rows["metrics"]):
            continue
        header = store.run_header(int(run_id))
        try:
            truth = load_ground_truth(path, (header.height, header.width), image_name=str(file_name))
        except GroundTruthError as error:
            echo(f"{file_name}: no metrics: {error}")
            continue
        for stored in store.load_results(int(run_id)):
            row = evaluate_run(stored.result, truth, iou_thresholds).row(iou_thresholds)
            row.pop("setting", None)
            row.pop("masks", None)  # images.csv has it already
            hidden = {DIGEST_KEY: digest, PATH_KEY: str(path.resolve())}
            store.set_metrics(stored.result_id, {GROUND_TRUTH_COLUMN: path.name, **row, **hidden})
        scored += 1
    return scored


def _current(metrics: object, digest: str, iou_thresholds: Sequence[float]) -> bool:
    if not isinstance(metrics, dict) or metrics.get(DIGEST_KEY) != digest:
        return False
    return all(f"f1_{round(t * 100)}" in metrics for t in iou_thresholds)


def metric_means(done: pd.DataFrame, metric_columns: Sequence[str]) -> dict[str, float | int]:
    """Per setting: how many images had ground truth, and the mean of each metric over them."""
    scored = done[done[GROUND_TRUTH_COLUMN].notna()] if GROUND_TRUTH_COLUMN in done else done.iloc[0:0]
    means: dict[str, float | int] = {"gt_images": len(scored)}
    for column in metric_columns:
        values = pd.to_numeric(scored[column], errors="coerce").dropna()
        means[f"{column}_mean"] = float(values.mean()) if len(values) else float("nan")
    return means
