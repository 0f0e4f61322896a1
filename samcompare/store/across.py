"""The same settings across images: from the store's results table to one row per image.

A setting is recognised by its parameters (`parameters_key`), not its name, so "SAM default" run
today and a copy renamed "mine" tomorrow are the same column. Each image shows its latest result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from samcompare.evaluation.paired import PairedComparison, paired_against_first_wide

# What a cell can show: a column of `ResultStore.results_table`, or a key of its statistics.
VALUES = {
    "masks": "mask_count",
    "coverage %": "coverage_pct",
    "mean predicted IoU": "predicted_iou_mean",
    "mean stability score": "stability_score_mean",
    "median mask area": "area_median",
    "seconds": "seconds",
    "F1 at IoU 0.5 (with ground truth)": "f1_50",
    "AP (with ground truth)": "ap",
}


def setting_label(name: str, parameters_key: str) -> str:
    """The setting's name and what it changes from SAM's defaults."""
    from samcompare.config import AmgConfig

    config = AmgConfig.from_dict({"name": name, **json.loads(parameters_key)})
    return f"{name} ({config.describe_changes() or 'SAM defaults'})"


def setting_choices(results: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct setting: parameters_key, label (latest name), images it ran on; most images first."""
    if results.empty:
        return pd.DataFrame(columns=["parameters_key", "label", "images"])
    latest = results.sort_values(["created_at", "run_id"]).groupby("parameters_key", sort=False).tail(1)
    images = results.groupby("parameters_key")["image_key"].nunique()
    choices = pd.DataFrame(
        {
            "parameters_key": latest["parameters_key"].tolist(),
            "label": [
                setting_label(n, k) for n, k in zip(latest["setting_name"], latest["parameters_key"], strict=True)
            ],
            "images": [int(images[key]) for key in latest["parameters_key"]],
        }
    )
    return choices.sort_values(["images", "label"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def _value(row: Any, value: str) -> Any:
    if value in ("mask_count", "coverage_pct"):
        return getattr(row, value)
    if value == "seconds":
        return row.timings.get("total")
    for source in (row.statistics, row.metrics or {}):
        if value in source:
            return source[value]
    return None


def across_images(results: pd.DataFrame, parameters_keys: Sequence[str], value: str = "mask_count") -> pd.DataFrame:
    """One row per image that ran any of the settings: image_key, image (latest name), then one column per setting.

    Columns are named by `setting_choices`' labels; a cell is the setting's `value` in the image's latest run
    with it (empty where the image never ran that setting). Images are sorted by name.
    """
    chosen = results[results["parameters_key"].isin(list(parameters_keys))]
    labels = setting_choices(results).set_index("parameters_key")["label"]
    chosen = chosen.sort_values(["created_at", "run_id", "position"])
    latest = chosen.groupby(["image_key", "parameters_key"], sort=False).tail(1)
    names = chosen.groupby("image_key")["image_name"].last()
    rows: dict[str, dict[str, Any]] = {}
    for row in latest.itertuples():
        cells = rows.setdefault(row.image_key, {"image_key": row.image_key, "image": names[row.image_key]})
        cells[labels[row.parameters_key]] = _value(row, value)
    columns = ["image_key", "image", *(labels[key] for key in parameters_keys)]
    table = pd.DataFrame(list(rows.values()), columns=columns)
    return table.sort_values(["image", "image_key"], kind="mergesort").reset_index(drop=True)


def paired_across_images(
    results: pd.DataFrame, parameters_keys: Sequence[str], metric: str = "f1_50", seed: int = 0
) -> list[PairedComparison]:
    """Each chosen setting against the first chosen one on `metric`, over the images where both have it.

    The same statistics as a batch's paired.csv, from each image's latest run with each setting.
    """
    if len(parameters_keys) < 2:
        return []
    table = across_images(results, parameters_keys, metric)
    labels = [column for column in table.columns if column not in ("image_key", "image")]
    return paired_against_first_wide(table, labels, metric, seed)
