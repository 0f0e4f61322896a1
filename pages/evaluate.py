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
from samcompare_app.state import tr
from samcompare_app.tuning_view import tune_section

st.title(tr("Evaluate settings", "設定の評価"))
run = require_run(tr("the settings of the last run are evaluated here.", "ここでは最後の比較の設定を評価します。"))

st.caption(
    tr(
        f"The last comparison: {run.image_name} ({run.image.shape[1]} × {run.image.shape[0]} px), "
        f"{len(run.results)} settings, model {run.models_text}.",
        f"最後の比較: {run.image_name}（{run.image.shape[1]} × {run.image.shape[0]} px）、設定 {len(run.results)} 個、"
        f"モデル {run.models_text}。",
    )
)
st.subheader(tr("Ground truth", "正解データ"))
kept = ground_truth_section(run)
thresholds = iou_thresholds_input()

metrics = None
if kept is not None:
    st.subheader(tr("Metrics against the ground truth", "正解データに対する指標"))
    metrics = metrics_section(run, kept, thresholds)
    st.plotly_chart(recall_figure(run, kept), key="recall_curve")

st.subheader(tr("Marked masks", "印を付けたマスク"))
marks_section(run, thresholds[0], has_truth=kept is not None)

st.subheader(tr("Auto-tune: search the setting that scores best", "自動調整: 最も高く採点される設定を探す"))
tune_section(run, kept.truth if kept else None, kept.token if kept else None, kept_marks(run))

st.subheader(tr("Per setting", "設定ごと"))
threshold = thresholds[0]
if kept is not None and len(thresholds) > 1:
    threshold = st.selectbox(
        tr("Picture at IoU ≥", "画像の IoU ≥"), thresholds, key="evaluation_picture_iou", format_func=str
    )
for index, tab in enumerate(st.tabs([result.config.name for result in run.results])):
    with tab:
        setting_tab(run, index, kept, metrics[index] if metrics is not None else None, threshold)
