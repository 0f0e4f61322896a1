"""The Evaluate page's parts: ground truth per image, the metrics table, pictures, the recall curve, marks.

Ground truth and marks are kept per image (by the image's content key) in session state, apart
from any widget, so a bad upload or a page switch loses nothing; metrics, curves and pictures go
through the results view's per-session memo, keyed by run, setting and ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from samcompare.engine.cache import image_key
from samcompare.evaluation import (
    DEFAULT_IOU_THRESHOLDS,
    GroundTruth,
    GroundTruthError,
    Marks,
    SettingMetrics,
    evaluate_from_ious,
    evaluate_marks,
    evaluation_legend,
    evaluation_picture,
    load_ground_truth,
    marks_from_run,
    marks_table,
    metrics_table,
    recall_curve,
    run_ious,
    run_scores,
)
from samcompare.evaluation.metrics import check_thresholds
from samcompare.results import mask_table
from samcompare.samples import SAMPLES, load_sample, sample_ground_truth
from samcompare_app.charts import setting_colour
from samcompare_app.comparison import ComparisonRun
from samcompare_app.results_view import _memo, selectable_mask_table
from samcompare_app.state import recall, remember, restore_widget

GROUND_TRUTH_KEY = "ground_truth_by_image"  # image key -> KeptGroundTruth
GROUND_TRUTH_ERROR_KEY = "ground_truth_error_by_image"  # image key -> (upload id, message)
MARKS_KEY = "marks_by_image"  # image key -> Marks
THRESHOLDS_KEY = "evaluation_iou_thresholds"  # the text input
VALID_THRESHOLDS_KEY = "evaluation_iou_thresholds_valid"  # the last thresholds that parsed
DEFAULT_THRESHOLDS_TEXT = ", ".join(f"{t:g}" for t in DEFAULT_IOU_THRESHOLDS)
CURVE_THRESHOLDS = tuple(round(0.05 * step, 2) for step in range(1, 21))  # 0.05 ... 1.0
UPLOAD_TYPES = ["png", "json", "zip"]
NOT_BEST = ("setting", "gt_objects", "masks")  # counts, not scores: no best value
BEST_STYLE = "font-weight: bold; background-color: rgba(40, 200, 160, 0.28)"


@dataclass(frozen=True)
class KeptGroundTruth:
    """An image's ground truth and a token naming where it came from (memo keys use the token)."""

    truth: GroundTruth
    token: str  # "sample:<name>" or "upload:<file id>"


def _store(key: str) -> dict[str, Any]:
    store: dict[str, Any] = st.session_state.setdefault(key, {})
    return store


def sample_of(run: ComparisonRun) -> str | None:
    """The sample the run's image is, when it is one with ground truth (same name and same pixels)."""
    sample = SAMPLES.get(run.image_name)
    if sample is None or not sample.has_ground_truth:
        return None
    return run.image_name if image_key(load_sample(run.image_name)) == run.image_key else None


def kept_ground_truth(run: ComparisonRun) -> KeptGroundTruth | None:
    """The ground truth kept for the run's image; a sample's is taken at first sight."""
    store = _store(GROUND_TRUTH_KEY)
    kept = store.get(run.image_key)
    if kept is None:
        name = sample_of(run)
        truth = sample_ground_truth(name) if name is not None else None
        if truth is not None:
            kept = store[run.image_key] = KeptGroundTruth(truth, f"sample:{name}")
    return kept


def ground_truth_section(run: ComparisonRun) -> KeptGroundTruth | None:
    """Show where the ground truth comes from; for images other than samples, take an upload."""
    kept = kept_ground_truth(run)
    if kept is not None and kept.token.startswith("sample:"):
        st.markdown(f"**Ground truth:** {len(kept.truth)} objects, exact, from the sample scene ({kept.truth.source}).")
        return kept
    uploaded = st.file_uploader(
        "Ground truth for this image: a label-map PNG (0 = background, each other value one object), "
        "COCO JSON (RLE or polygons) or a ZIP of mask PNGs",
        type=UPLOAD_TYPES,
        key=f"ground_truth_upload_{run.image_key[:16]}",
    )
    errors = _store(GROUND_TRUTH_ERROR_KEY)
    if uploaded is not None:
        token = f"upload:{uploaded.file_id}"
        failed = errors.get(run.image_key)
        if (kept is None or kept.token != token) and (failed is None or failed[0] != token):
            try:
                truth = load_ground_truth(
                    uploaded.getvalue(), run.image.shape[:2], file_name=uploaded.name, image_name=run.image_name
                )
            except GroundTruthError as error:
                errors[run.image_key] = (token, str(error))
            else:
                errors.pop(run.image_key, None)
                kept = _store(GROUND_TRUTH_KEY)[run.image_key] = KeptGroundTruth(truth, token)
        failed = errors.get(run.image_key)
        if failed is not None and failed[0] == token:
            kept_note = "The previous ground truth is still in use." if kept is not None else "Nothing was loaded."
            st.error(f"{failed[1]}. {kept_note}", icon=":material/block:")
    if kept is not None:
        st.markdown(f"**Ground truth:** {len(kept.truth)} objects from {kept.truth.source}.")
    return kept


def iou_thresholds_input() -> tuple[float, ...]:
    """The IoU thresholds typed by the user; a bad entry shows why and keeps the last good ones."""
    restore_widget(THRESHOLDS_KEY, DEFAULT_THRESHOLDS_TEXT)
    text = st.text_input(
        "IoU thresholds",
        key=THRESHOLDS_KEY,
        help="A mask finds an object when their mask IoU reaches the threshold. Any values in (0, 1], "
        "comma-separated: one column group each.",
    )
    remember(THRESHOLDS_KEY, text)
    try:
        thresholds = check_thresholds([float(part) for part in text.split(",") if part.strip()])
    except ValueError as error:
        last = recall(VALID_THRESHOLDS_KEY, DEFAULT_IOU_THRESHOLDS)
        st.error(f"{error}; using {', '.join(f'{t:g}' for t in last)}.", icon=":material/block:")
        return tuple(last)
    remember(VALID_THRESHOLDS_KEY, thresholds)
    return thresholds


def setting_ious(run: ComparisonRun, index: int, kept: KeptGroundTruth) -> np.ndarray:
    return _memo(("evaluation_ious", run.run_id, index, kept.token), lambda: run_ious(run.masks[index], kept.truth))


def setting_metrics(run: ComparisonRun, kept: KeptGroundTruth, thresholds: Sequence[float]) -> list[SettingMetrics]:
    def make() -> list[SettingMetrics]:
        return [
            evaluate_from_ious(
                setting_ious(run, index, kept),
                run_scores(masks),
                masks.areas(),
                kept.truth,
                thresholds,
                setting=result.config.name,
            )
            for index, (result, masks) in enumerate(zip(run.results, run.masks, strict=True))
        ]

    return _memo(("evaluation_metrics", run.run_id, kept.token, tuple(thresholds)), make)


def best_cells(column: pd.Series, higher: bool) -> list[str]:
    """The style of each cell: marked where the value, as shown (three decimals), is the column's best."""
    shown = pd.to_numeric(column, errors="coerce").round(3)
    best = shown.max() if higher else shown.min()
    return [BEST_STYLE if pd.notna(value) and value == best else "" for value in shown]


def styled_best(table: pd.DataFrame, higher: Sequence[str], lower: Sequence[str] = ()) -> Any:
    """The table with the best value of each score column marked (ties as shown all marked), three decimals."""
    styler = table.style.apply(best_cells, subset=list(higher), higher=True)
    if lower:
        styler = styler.apply(best_cells, subset=list(lower), higher=False)
    return styler.format(precision=3, na_rep="–")


def styled_metrics(table: pd.DataFrame) -> Any:
    """The metrics table with the best value of each score column marked: every score is better higher."""
    return styled_best(table, [column for column in table.columns if column not in NOT_BEST])


def metrics_section(run: ComparisonRun, kept: KeptGroundTruth, thresholds: Sequence[float]) -> list[SettingMetrics]:
    metrics = setting_metrics(run, kept, thresholds)
    table = metrics_table(metrics, thresholds)
    st.dataframe(styled_metrics(table), hide_index=True)
    st.caption(
        "Best value per column in **bold**. Matching is one-to-one at each IoU threshold (suffix: the threshold "
        "in hundredths): precision = matched / masks, recall = matched / objects, F1 their harmonic mean. "
        "mean_best_iou: each object's best IoU with any mask, averaged. ap and ar: COCO's AP and AR "
        "(IoU 0.50:0.95) with predicted_iou as the score, up to 1000 masks."
    )
    with st.expander("Recall by object size (COCO's small / medium / large, scaled to this image)"):
        rows = []
        for setting in metrics:
            for at in setting.thresholds:
                row: dict[str, Any] = {"setting": setting.setting, "iou": at.iou_threshold}
                for size in at.recall_by_size:
                    row[size.group] = f"{size.matched}/{size.objects}"
                rows.append(row)
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    return metrics


def recall_figure(run: ComparisonRun, kept: KeptGroundTruth) -> go.Figure:
    """Recall against the IoU threshold, one curve per setting in its colour of the compare page's charts."""
    figure = go.Figure()
    for index, result in enumerate(run.results):
        curve = recall_curve(setting_ious(run, index, kept), CURVE_THRESHOLDS)
        figure.add_trace(
            go.Scatter(
                x=list(CURVE_THRESHOLDS),
                y=curve,
                mode="lines+markers",
                name=result.config.name,
                line={"color": setting_colour(index)},
            )
        )
    figure.update_layout(
        title="Recall against the IoU threshold",
        xaxis_title="IoU threshold",
        yaxis_title="recall (objects found)",
        yaxis_range=[0, 1.02],
        height=360,
        margin={"l": 50, "r": 10, "t": 50, "b": 90},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    )
    return figure


def kept_marks(run: ComparisonRun) -> Marks:
    marks: Marks = _store(MARKS_KEY).get(run.image_key, Marks())
    return marks


def _table_key(run: ComparisonRun, index: int) -> str:
    return f"evaluation_mask_table_{run.run_id}_{index}"


def selected_ids(run: ComparisonRun, index: int) -> list[int]:
    state = st.session_state.get(_table_key(run, index))
    rows = state["selection"]["rows"] if state else []
    return sorted(int(row) for row in rows if 0 <= int(row) < len(run.masks[index]))


def _mark_selected(run: ComparisonRun, index: int, label: str | None) -> None:
    chosen = marks_from_run(run.masks[index], selected_ids(run, index), run.results[index].config.name)
    marks = kept_marks(run)
    _store(MARKS_KEY)[run.image_key] = marks.unmarked(chosen) if label is None else marks.marked(chosen, label)


def clear_marks(run: ComparisonRun) -> None:
    _store(MARKS_KEY).pop(run.image_key, None)


def marks_section(run: ComparisonRun, iou_threshold: float, has_truth: bool) -> None:
    marks = kept_marks(run)
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.markdown(
        f"**Marks on this image:** {len(marks.good)} good, {len(marks.bad)} bad. Select rows in a setting's mask "
        "table below and mark them good (should be found) or bad (should not be)."
    )
    right.button(
        "Clear marks", key="clear_marks", on_click=clear_marks, args=(run,), disabled=not len(marks), width="stretch"
    )
    if not len(marks):
        if not has_truth:
            st.info("No ground truth for this image: mark masks to score the settings against your marks.")
        return
    table = marks_table([evaluate_marks(masks, marks, iou_threshold) for masks in run.masks])
    shown = table.drop(columns=["good_marks", "bad_marks"])
    st.dataframe(styled_best(shown, ["good_found", "precision", "recall", "agreement"], ["bad_hit"]), hide_index=True)
    st.caption(
        f"A mask lies on a mark at IoU ≥ {iou_threshold:g}. good_found: good marks found (one mask each); bad_hit: "
        "bad marks a mask reproduces; precision: good found / masks lying on any mark (masks on no mark are not "
        "judged); agreement: (good found + bad avoided) / marks."
    )


def setting_tab(
    run: ComparisonRun, index: int, kept: KeptGroundTruth | None, metrics: SettingMetrics | None, threshold: float
) -> None:
    if kept is not None and metrics is not None:
        at = metrics.at(threshold)
        picture = _memo(
            ("evaluation_picture", run.run_id, index, kept.token, threshold),
            lambda: evaluation_picture(run.image, run.masks[index], kept.truth, at.match),
        )
        left, right = st.columns([3, 2])
        left.image(picture, width="stretch")
        with right:
            legend = evaluation_legend(at.match)
            st.markdown(
                "\n".join(f"- <span style='color: rgb{colour}'>■</span> **{label}**" for label, colour in legend),
                unsafe_allow_html=True,
            )
            st.caption(
                f"At IoU ≥ {threshold:g}: found objects are drawn with their mask (greens and blues), missed objects "
                "magenta, masks that match no object orange-red."
            )
    marks = kept_marks(run)
    table = _memo(("table", run.run_id, index), lambda: mask_table(run.masks[index]))
    shown = table.copy()
    shown.insert(1, "mark", [marks.label_of(rle) or "" for rle in run.masks[index].coco_rles()])
    selectable_mask_table(shown, _table_key(run, index))
    chosen = selected_ids(run, index)
    columns = st.columns(3)
    for column, (text, label) in zip(
        columns, (("Mark good", "good"), ("Mark bad", "bad"), ("Unmark", None)), strict=True
    ):
        column.button(
            f"{text} ({len(chosen)})",
            key=f"mark_{label or 'none'}_{run.run_id}_{index}",
            on_click=_mark_selected,
            args=(run, index, label),
            disabled=not chosen,
            width="stretch",
        )
