"""Evaluate page: which setting of the current comparison is right, against ground truth or the user's marks."""

from __future__ import annotations

import streamlit as st

from samcompare_app.evaluation_view import (
    ground_truth_section,
    iou_thresholds_input,
    kept_marks,
    marks_section,
    metrics_section,
    recall_figure,
    setting_tab,
)
from samcompare_app.results_view import require_run
from samcompare_app.tuning_view import tune_section

st.title("Evaluate settings")
run = require_run("the settings of the last run are evaluated here.")

st.caption(
    f"The last comparison: {run.image_name} ({run.image.shape[1]} × {run.image.shape[0]} px), "
    f"{len(run.results)} settings, model {run.model_name}."
)
st.subheader("Ground truth")
kept = ground_truth_section(run)
thresholds = iou_thresholds_input()

metrics = None
if kept is not None:
    st.subheader("Metrics against the ground truth")
    metrics = metrics_section(run, kept, thresholds)
    st.plotly_chart(recall_figure(run, kept), key="recall_curve")

st.subheader("Marked masks")
marks_section(run, thresholds[0], has_truth=kept is not None)

st.subheader("Auto-tune: search the setting that scores best")
tune_section(run, kept.truth if kept else None, kept.token if kept else None, kept_marks(run))

st.subheader("Per setting")
threshold = thresholds[0]
if kept is not None and len(thresholds) > 1:
    threshold = st.selectbox("Picture at IoU ≥", thresholds, key="evaluation_picture_iou", format_func=str)
for index, tab in enumerate(st.tabs([result.config.name for result in run.results])):
    with tab:
        setting_tab(run, index, kept, metrics[index] if metrics is not None else None, threshold)
