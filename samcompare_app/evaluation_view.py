"""The Evaluate page's parts: ground truth per image, the metrics table, pictures, the recall curve, marks.

Ground truth and marks are kept per image (by the image's content key) in session state, apart
from any widget, so a bad upload or a page switch loses nothing; metrics, curves and pictures go
through the session's memo, keyed by setting and ground truth. Without ground truth the picture
shows the masks selected in the table (all of them when none is), so marking has a picture too.
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
from samcompare.results import OverlayOptions, overlay
from samcompare.samples import SAMPLES, load_sample, sample_ground_truth
from samcompare_app.charts import setting_colour
from samcompare_app.comparison import ComparisonRun
from samcompare_app.results_view import jpeg, legend_html, selectable_mask_table, setting_mask_table
from samcompare_app.state import (
    GROUND_TRUTH_ERROR_KEY,
    GROUND_TRUTH_KEY,
    MARKS_KEY,
    THRESHOLDS_KEY,
    VALID_THRESHOLDS_KEY,
    memo,
    recall,
    remember,
    restore_widget,
    store,
    tr,
)
from samcompare_app.texts import column_config

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


def sample_of(run: ComparisonRun) -> str | None:
    """The sample the run's image is, when it is one with ground truth (same name and same pixels)."""
    sample = SAMPLES.get(run.image_name)
    if sample is None or not sample.has_ground_truth:
        return None
    return run.image_name if image_key(load_sample(run.image_name)) == run.image_key else None


def kept_ground_truth(run: ComparisonRun) -> KeptGroundTruth | None:
    """The ground truth kept for the run's image; a sample's is taken at first sight."""
    truths = store(GROUND_TRUTH_KEY)
    kept = truths.get(run.image_key)
    if kept is None:
        name = sample_of(run)
        truth = sample_ground_truth(name) if name is not None else None
        if truth is not None:
            kept = truths[run.image_key] = KeptGroundTruth(truth, f"sample:{name}")
    return kept


def ground_truth_section(run: ComparisonRun) -> KeptGroundTruth | None:
    """Show where the ground truth comes from; for images other than samples, take an upload."""
    kept = kept_ground_truth(run)
    if kept is not None and kept.token.startswith("sample:"):
        st.markdown(
            tr(
                f"**Ground truth:** {len(kept.truth)} objects, exact, from the sample scene ({kept.truth.source}).",
                f"**正解データ:** サンプル画像の正確な物体 {len(kept.truth)} 個（{kept.truth.source}）。",
            )
        )
        return kept
    uploaded = st.file_uploader(
        tr(
            "Ground truth for this image: a label-map PNG (0 = background, each other value one object), "
            "COCO JSON (RLE or polygons) or a ZIP of mask PNGs",
            "この画像の正解データ: ラベルマップ PNG（0 = 背景、それ以外の値がそれぞれ 1 物体）、"
            "COCO JSON（RLE またはポリゴン）、マスク PNG の ZIP",
        ),
        type=UPLOAD_TYPES,
        key=f"ground_truth_upload_{run.image_key[:16]}",
    )
    errors = store(GROUND_TRUTH_ERROR_KEY)
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
                kept = store(GROUND_TRUTH_KEY)[run.image_key] = KeptGroundTruth(truth, token)
        failed = errors.get(run.image_key)
        if failed is not None and failed[0] == token:
            if kept is not None:
                kept_note = tr("The previous ground truth is still in use.", "以前の正解データを使い続けます。")
            else:
                kept_note = tr("Nothing was loaded.", "何も読み込んでいません。")
            st.error(
                tr(f"{failed[1]}. {kept_note}", f"正解データを読めません: {failed[1]}。{kept_note}"),
                icon=":material/block:",
            )
    if kept is not None:
        st.markdown(
            tr(
                f"**Ground truth:** {len(kept.truth)} objects from {kept.truth.source}.",
                f"**正解データ:** {kept.truth.source} の物体 {len(kept.truth)} 個。",
            )
        )
    return kept


def iou_thresholds_input() -> tuple[float, ...]:
    """The IoU thresholds typed by the user; a bad entry shows why and keeps the last good ones."""
    restore_widget(THRESHOLDS_KEY, DEFAULT_THRESHOLDS_TEXT)
    text = st.text_input(
        tr("IoU thresholds", "IoU しきい値"),
        key=THRESHOLDS_KEY,
        help=tr(
            "A mask finds an object when their mask IoU reaches the threshold. Any values in (0, 1], "
            "comma-separated: one column group each.",
            "マスクと物体の IoU がしきい値に達したとき、そのマスクが物体を見つけたとみなします。(0, 1] の値を"
            "カンマ区切りで指定（値ごとに列のまとまりが 1 つ）。",
        ),
    )
    remember(THRESHOLDS_KEY, text)
    try:
        thresholds = check_thresholds([float(part) for part in text.split(",") if part.strip()])
    except ValueError as error:
        last = recall(VALID_THRESHOLDS_KEY, DEFAULT_IOU_THRESHOLDS)
        shown = ", ".join(f"{t:g}" for t in last)
        st.error(tr(f"{error}; using {shown}.", f"{error}。{shown} を使います。"), icon=":material/block:")
        return tuple(last)
    remember(VALID_THRESHOLDS_KEY, thresholds)
    return thresholds


def setting_ious(run: ComparisonRun, index: int, kept: KeptGroundTruth) -> np.ndarray:
    return memo(("evaluation_ious", run.setting_key(index), kept.token), lambda: run_ious(run.masks[index], kept.truth))


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

    keys = tuple(run.setting_key(index) for index in range(len(run.results)))
    return memo(("evaluation_metrics", keys, kept.token, tuple(thresholds)), make)


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


def metrics_order(columns: Sequence[str]) -> list[str]:
    """Counts and the summary scores first (AP and AR visible without scrolling), then each threshold's group."""
    first = [c for c in ("setting", "gt_objects", "masks", "ap", "ar", "mean_best_iou") if c in columns]
    return [*first, *[c for c in columns if c not in first]]


def metrics_section(run: ComparisonRun, kept: KeptGroundTruth, thresholds: Sequence[float]) -> list[SettingMetrics]:
    metrics = setting_metrics(run, kept, thresholds)
    table = metrics_table(metrics, thresholds)
    table = table[metrics_order(list(table.columns))]
    st.dataframe(
        styled_metrics(table),
        hide_index=True,
        column_config=column_config(table.columns, setting=st.column_config.Column(tr("Setting", "設定"), pinned=True)),
    )
    st.caption(
        tr(
            "Best value per column in **bold**. Matching is one-to-one at each IoU threshold (@: the threshold): "
            "precision = matched / masks, recall = matched / objects, F1 their harmonic mean. Mean best IoU: each "
            "object's best IoU with any mask, averaged. AP and AR: COCO's (IoU 0.50:0.95) with predicted_iou as "
            "the score, up to 1000 masks. Hover a header for its column in metrics.csv.",
            "列ごとの最良値を**太字**で示します。各 IoU しきい値（@ の後の値）で 1 対 1 に対応付けます: 適合率 = "
            "一致数 / マスク数、再現率 = 一致数 / 物体数、F1 はその調和平均。最良 IoU 平均: 各物体と最もよく重なる"
            "マスクの IoU の平均。AP と AR: COCO の指標（IoU 0.50:0.95、スコアは predicted_iou、最大 1000 マスク）。"
            "見出しにカーソルを置くと metrics.csv の列名が出ます。",
        )
    )
    with st.expander(
        tr(
            "Recall by object size (COCO's small / medium / large, scaled to this image)",
            "物体の大きさ別の再現率（COCO の小・中・大をこの画像に合わせて換算）",
        )
    ):
        rows = []
        for setting in metrics:
            for at in setting.thresholds:
                row: dict[str, Any] = {"setting": setting.setting, "iou": at.iou_threshold}
                for size in at.recall_by_size:
                    row[size.group] = f"{size.matched}/{size.objects}"
                rows.append(row)
        sizes = pd.DataFrame(rows)
        st.dataframe(sizes, hide_index=True, column_config=column_config(sizes.columns))
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
        title=tr("Recall against the IoU threshold", "IoU しきい値ごとの再現率"),
        xaxis_title=tr("IoU threshold", "IoU しきい値"),
        yaxis_title=tr("recall (objects found)", "再現率（見つかった物体の割合）"),
        yaxis_range=[0, 1.02],
        height=360,
        margin={"l": 50, "r": 10, "t": 50, "b": 90},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    )
    return figure


def kept_marks(run: ComparisonRun) -> Marks:
    marks: Marks = store(MARKS_KEY).get(run.image_key, Marks())
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
    store(MARKS_KEY)[run.image_key] = marks.unmarked(chosen) if label is None else marks.marked(chosen, label)


def clear_marks(run: ComparisonRun) -> None:
    store(MARKS_KEY).pop(run.image_key, None)


def marks_section(run: ComparisonRun, iou_threshold: float, has_truth: bool) -> None:
    marks = kept_marks(run)
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.markdown(
        tr(
            f"**Marks on this image:** {len(marks.good)} good, {len(marks.bad)} bad. Select rows in a setting's mask "
            "table below and mark them good (should be found) or bad (should not be).",
            f"**この画像の印:** good {len(marks.good)} 個、bad {len(marks.bad)} 個。下の設定ごとのマスク表で行を選び、"
            "good（見つかるべき）か bad（見つかるべきでない）の印を付けます。",
        )
    )
    right.button(
        tr("Clear marks", "印を消す"),
        key="clear_marks",
        on_click=clear_marks,
        args=(run,),
        disabled=not len(marks),
        width="stretch",
    )
    if not len(marks):
        if not has_truth:
            st.info(
                tr(
                    "No ground truth for this image: mark masks to score the settings against your marks.",
                    "この画像には正解データがありません。マスクに印を付けると、その印に対して設定を採点します。",
                )
            )
        return
    table = marks_table([evaluate_marks(masks, marks, iou_threshold) for masks in run.masks])
    shown = table.drop(columns=["good_marks", "bad_marks"])
    st.dataframe(
        styled_best(shown, ["good_found", "precision", "recall", "agreement"], ["bad_hit"]),
        hide_index=True,
        column_config=column_config(shown.columns),
    )
    st.caption(
        tr(
            f"A mask lies on a mark at IoU ≥ {iou_threshold:g}. Good found: good marks found (one mask each); bad "
            "hit: bad marks a mask reproduces; precision: good found / masks lying on any mark (masks on no mark are "
            "not judged); agreement: (good found + bad avoided) / marks.",
            f"IoU ≥ {iou_threshold:g} でマスクが印に重なるとみなします。"
            "見つかった good: 見つかった good の印（1 対 1）。再現した bad: マスクが再現した bad の印。"
            "適合率: 見つかった good / 印に重なるマスク（印に重ならないマスクは採点しません）。"
            "一致度: (見つかった good + 避けた bad) / 印の数。",
        )
    )


def _truth_picture(
    run: ComparisonRun, index: int, kept: KeptGroundTruth, metrics: SettingMetrics, threshold: float
) -> None:
    at = metrics.at(threshold)
    picture = memo(
        ("evaluation_picture", run.setting_key(index), kept.token, threshold),
        lambda: jpeg(evaluation_picture(run.image, run.masks[index], kept.truth, at.match)),
    )
    left, right = st.columns([3, 2])
    left.image(picture, width="stretch")
    with right:
        found, missed, false = evaluation_legend(at.match)
        entries = [
            (
                tr(
                    f"**found objects** ({len(at.match.pairs)}): object and mask together",
                    f"**見つかった物体**（{len(at.match.pairs)}）: 物体とマスクを合わせて表示",
                ),
                found[1],
            ),
            (
                tr(
                    f"**missed objects** ({len(at.match.missed_objects)})",
                    f"**見逃した物体**（{len(at.match.missed_objects)}）",
                ),
                missed[1],
            ),
            (
                tr(
                    f"**false masks** ({len(at.match.false_masks)}): outlines only",
                    f"**誤ったマスク**（{len(at.match.false_masks)}）: 輪郭のみ",
                ),
                false[1],
            ),
        ]
        st.markdown(legend_html(entries), unsafe_allow_html=True)
        st.caption(
            tr(
                f"At IoU ≥ {threshold:g}. False masks (matching no object) are drawn as outlines beneath the rest, so "
                "a background mask hides nothing that was found.",
                f"IoU ≥ {threshold:g} での結果。誤ったマスク（どの物体とも一致しない）は輪郭だけをほかの下に描くので、"
                "背景のマスクが見つかった物体を隠しません。",
            )
        )


def _selection_picture(run: ComparisonRun, index: int, chosen: Sequence[int]) -> None:
    """No ground truth: the masks selected in the table (every mask while none is), to mark them by sight."""
    options = OverlayOptions(opacity=0.55, outlines=True, highlight_ids=tuple(chosen) or None, dimmed_opacity=0.08)
    picture = memo(
        ("evaluation_selection", run.setting_key(index), tuple(chosen)),
        lambda: jpeg(overlay(run.image, run.masks[index], options)),
    )
    left, right = st.columns([3, 2])
    left.image(picture, width="stretch")
    right.caption(
        tr(
            f"{len(chosen)} selected mask(s) stand out; the others are faint. Select rows below, then mark them."
            if chosen
            else "Every mask of this setting. Select rows below to see those masks alone, then mark them.",
            f"選んだ {len(chosen)} 個のマスクを強調し、ほかは薄く表示しています。下で行を選んで印を付けます。"
            if chosen
            else "この設定のすべてのマスクです。下で行を選ぶとそのマスクだけを強調し、印を付けられます。",
        )
    )


def setting_tab(
    run: ComparisonRun, index: int, kept: KeptGroundTruth | None, metrics: SettingMetrics | None, threshold: float
) -> None:
    chosen = selected_ids(run, index)
    if kept is not None and metrics is not None:
        _truth_picture(run, index, kept, metrics, threshold)
    else:
        _selection_picture(run, index, chosen)
    marks = kept_marks(run)
    shown = setting_mask_table(run, index).copy()
    shown.insert(1, "mark", [marks.label_of(rle) or "" for rle in run.masks[index].coco_rles()])
    selectable_mask_table(shown, _table_key(run, index))
    columns = st.columns(3)
    labels = (
        (tr("Mark good", "good の印"), "good"),
        (tr("Mark bad", "bad の印"), "bad"),
        (tr("Unmark", "印を外す"), None),
    )
    for column, (text, label) in zip(columns, labels, strict=True):
        column.button(
            f"{text} ({len(chosen)})",
            key=f"mark_{label or 'none'}_{run.run_id}_{index}",
            on_click=_mark_selected,
            args=(run, index, label),
            disabled=not chosen,
            width="stretch",
        )
