"""The Dataset page: tune over a stored batch that has ground truth, training against validation, the best to compare.

The search runs in the core (`samcompare.tuning.dataset_search.tune_dataset`) on the batch's stored
images and the ground truth in its folder; this file reads widgets, shows progress, and draws the
result (kept per batch in session state: a few tables, no masks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from samcompare.config import ConfigError
from samcompare.models import ModelLoadError
from samcompare.store import DATABASE_NAME, ResultStore, StoreError, default_store_path
from samcompare.tuning import Objective
from samcompare.tuning.dataset import (
    DEFAULT_VAL_FRACTION,
    TRAINING,
    VALIDATION,
    DatasetError,
    StoredBatch,
    split_images,
    stored_batch_images,
    stored_batches,
)
from samcompare.tuning.dataset_search import DatasetProgress, DatasetTuneResult, tune_dataset
from samcompare_app.history import markdown_text
from samcompare_app.resources import cached_model, device_name
from samcompare_app.settings_editor import add_setting

RESULTS_KEY = "dataset_results"  # (store path, batch id) -> DatasetTuneResult
MESSAGE_KEY = "dataset_message"
OBJECTIVES = {"f1": "F1 at an IoU", "recall": "recall at a precision floor", "ap": "COCO AP@[.50:.95]"}
STAGES = {"decode": (0.0, 0.6, "decoding"), "search": (0.6, 0.9, "searching"), "validate": (0.9, 1.0, "validating")}


def open_chosen_store() -> ResultStore | None:
    """The store the user names (the app's history by default, or a batch's output folder); None when there is none."""
    text = st.text_input(
        "Store",
        value=str(default_store_path()),
        key="dataset_store",
        help="The app's history, or the output folder of `python -m samcompare batch ... --gt-dir ...` "
        "(its samcompare.db).",
    )
    path = Path(text.strip()).expanduser()
    if path.is_dir():
        path = path / DATABASE_NAME
    if not path.is_file():
        st.info(
            f"No store at `{path}`. Run a batch with ground truth, "
            "`python -m samcompare batch FOLDER --preset 'SAM default' --gt-dir GTDIR --out OUT`, and give OUT here.",
            icon=":material/info:",
        )
        return None
    try:
        return ResultStore(path)
    except StoreError as error:
        st.error(f"Cannot open that store: {error}", icon=":material/error:")
        return None


def _objective_inputs() -> Objective:
    left, middle, right = st.columns(3)
    kind = left.selectbox("Objective", list(OBJECTIVES), format_func=OBJECTIVES.__getitem__, key="dataset_objective")
    iou = 0.5
    if kind != "ap":
        iou = middle.number_input("Match at mask IoU ≥", 0.05, 1.0, 0.5, 0.05, key="dataset_iou")
    floor = 0.0
    if kind == "recall":
        floor = right.number_input("Precision at least", 0.0, 1.0, 0.8, 0.05, key="dataset_min_precision")
    return Objective(kind, float(iou), float(floor))


def dataset_section() -> None:
    """Pick a stored batch with ground truth, tune over it, show training against validation."""
    store = open_chosen_store()
    if store is None:
        return
    batches = stored_batches(store)
    if not batches:
        st.info(
            "This store holds no batch scored against ground truth. Run one with `--gt-dir` and give its output "
            "folder above.",
            icon=":material/info:",
        )
        return
    index = st.selectbox("Batch", range(len(batches)), format_func=lambda i: batches[i].describe(), key="dataset_batch")
    batch = batches[index]
    truth_text = st.text_input(
        "Ground-truth folder",
        value=str(batch.truth_folder or ""),
        key=f"dataset_truth_{batch.batch_id}",
        help="Ground truth per image, paired by file stem, as the batch read it.",
    )
    names = [config.name for config in batch.settings]
    left, middle, right, last = st.columns(4)
    start_index = left.selectbox("Start from", range(len(names)), format_func=lambda i: names[i], key="dataset_start")
    trials = middle.number_input("Trials", 5, 2000, 100, 5, key="dataset_trials")
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, 1, key="dataset_seed")
    fraction = last.number_input(
        "Held out for validation", 0.0, 0.9, DEFAULT_VAL_FRACTION, 0.05, key="dataset_fraction"
    )
    objective = _objective_inputs()
    st.caption(
        f"Model {batch.model} (the batch's). Each training image is decoded once; every trial filters the "
        "cached candidates exactly as the official generator would and is scored against the ground truth. The "
        "held-out images are run afterwards with the start and the best setting, as `evaluate` runs them."
    )
    key = (str(store.path), batch.batch_id)
    if st.button("Tune over the batch", type="primary", key="dataset_button"):
        result = _run(
            store, batch, Path(truth_text.strip()).expanduser(), objective, start_index, trials, seed, fraction
        )
        if result is not None:
            st.session_state.setdefault(RESULTS_KEY, {})[key] = result
    result = st.session_state.get(RESULTS_KEY, {}).get(key)
    if result is not None:
        show_result(result)


def _run(
    store: ResultStore,
    batch: StoredBatch,
    truth_dir: Path,
    objective: Objective,
    start_index: int,
    trials: int,
    seed: int,
    fraction: float,
) -> DatasetTuneResult | None:
    try:
        pairs = stored_batch_images(store, batch.batch_id, truth_dir)
        split = split_images(pairs.images, float(fraction), int(seed))
        model = cached_model(batch.model, device_name())
    except DatasetError as error:
        st.error(str(error), icon=":material/error:")
        return None
    except ModelLoadError as error:
        st.error(f"Cannot load the batch's model {batch.model}: {error}", icon=":material/block:")
        return None
    bar = st.progress(0.0, text="starting")

    def on_progress(progress: DatasetProgress) -> None:
        low, high, verb = STAGES[progress.stage]
        detail = f": {progress.detail}" if progress.detail else ""
        text = f"{verb} {min(progress.done + 1, progress.total)} of {progress.total}{detail}"
        bar.progress(low + (high - low) * progress.fraction, text=text)

    try:
        start = batch.settings[start_index]
        result = tune_dataset(
            model, split, objective, start, trials=int(trials), seed=int(seed), on_progress=on_progress
        )
    except (DatasetError, ConfigError) as error:
        bar.empty()
        st.error(str(error), icon=":material/error:")
        return None
    bar.progress(1.0, text=f"{len(result.trials)} trials in {result.search_seconds:.1f} s")
    return result


def per_image_table(result: DatasetTuneResult) -> pd.DataFrame:
    """One row per image: its part, the objective under the start and the best, the change, the masks."""
    rows = []
    for part, scores in ((TRAINING, result.training), (VALIDATION, result.validation)):
        for image in scores:
            start, best = result.objective.score(image.start), result.objective.score(image.best)
            rows.append(
                {
                    "image": image.image,
                    "part": part,
                    result.start.name: start,
                    result.best.name: best,
                    "change": best - start,
                    "masks (start)": image.start.masks,
                    "masks (best)": image.best.masks,
                }
            )
    return pd.DataFrame(rows)


def trials_figure(result: DatasetTuneResult) -> go.Figure:
    values = np.array([trial.value for trial in result.trials])
    figure = go.Figure()
    figure.add_trace(go.Scatter(y=values, mode="markers", name="trial", marker={"size": 6, "opacity": 0.6}))
    figure.add_trace(go.Scatter(y=np.maximum.accumulate(values), mode="lines", name="best so far"))
    figure.add_hline(y=result.start_value, line_dash="dash", annotation_text=f"start: {result.start.name}")
    figure.update_layout(
        title=f"Mean {result.objective.describe()} over the training images, per trial",
        xaxis_title="trial",
        yaxis_title=result.objective.name,
        height=320,
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0},
    )
    return figure


def show_result(result: DatasetTuneResult) -> None:
    """Training against validation, the verdicts, the trials, every image, and the best setting to use."""
    columns = st.columns(2)
    for column, part in zip(columns, (TRAINING, VALIDATION), strict=True):
        start, best = result.values(part)
        if len(start):
            column.metric(
                f"{part.capitalize()}: mean {result.objective.name} ({len(start)} images)",
                f"{best.mean():.3f}",
                f"{best.mean() - start.mean():+.3f} against {result.start.name}",
            )
        else:
            column.metric(f"{part.capitalize()}: no images", "–")
    parts = (TRAINING, VALIDATION) if result.validation else (TRAINING,)
    st.markdown("\n".join(f"- {part}: {markdown_text(result.paired(part).verdict())}" for part in parts))
    if not result.validation:
        st.warning("No image was held out: the training score alone says little about other images.")
    st.caption(
        f"{result.split}. Decoded in {result.decode_seconds:.1f} s; candidate pools "
        f"{np.mean(result.pool_bytes) / 2**20:.1f} MiB per image; {len(result.trials)} trials in "
        f"{result.search_seconds:.1f} s; validation in {result.validation_seconds:.1f} s."
    )
    for name, why in result.skipped:
        st.warning(f"{name} was left out: {why}")
    st.plotly_chart(trials_figure(result), key="dataset_trials_figure")
    st.dataframe(per_image_table(result), hide_index=True, key="dataset_images")
    st.subheader("The best setting")
    add, _ = st.columns(2)
    if add.button("Add to the comparison", key="dataset_add", width="stretch"):
        problem = add_setting(result.best)
        st.session_state[MESSAGE_KEY] = problem or f"Added “{result.best.name}” to the Compare page: run it there."
    message = st.session_state.get(MESSAGE_KEY)
    if message:
        (st.success if message.startswith("Added") else st.warning)(message)
    left, right = st.columns(2)
    left.code(result.best.to_json(), language="json")
    right.code(result.best.to_code(), language="python")
    left.download_button(
        "best.json", result.best.to_json() + "\n", file_name="best.json", mime="application/json", key="dataset_json"
    )
    right.download_button(
        "validation.csv",
        result.scores_frame(VALIDATION).to_csv(index=False),
        file_name="validation.csv",
        mime="text/csv",
        key="dataset_validation_csv",
    )
