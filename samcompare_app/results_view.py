"""The results of a comparison: the comparison table, then one view at a time (pictures, charts, the match).

Redraw only what changed. Every picture and table is kept in the session's memo (state.memo) under
what it shows (image, model, setting, drawing options), not under the run, so a re-filter that
leaves a setting as it was reuses that setting's pictures; pictures are kept JPEG-encoded, so an
unchanged picture is never encoded again and the browser keeps it (same bytes, same media URL).
Only the chosen view is drawn, and cosmetic changes (opacity, outlines, row picks) rerun only the
results fragment.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from samcompare.results import (
    OverlayOptions,
    colour_mask_image,
    mask_count,
    mask_table,
    match_legend,
    match_masks,
    match_picture,
    overlay,
)
from samcompare.results.exports import DEFAULT_TOLERANCE
from samcompare.results.labels import LabelError, class_names
from samcompare.results.stats import comparison_table
from samcompare_app.charts import area_histogram, score_histogram, score_scatter
from samcompare_app.comparison import ComparisonRun
from samcompare_app.downloads import EXPORT_FORMATS, ExportRequest, export_label, file_name
from samcompare_app.mask_labels import class_choices, labels_of, set_labels
from samcompare_app.state import POLYGON_TOLERANCE_KEY, TABLE_MASKS_KEY, current_run, language, memo, tr
from samcompare_app.texts import column_config

JPEG_QUALITY = 90
OVERLAY = "overlay"
COLOUR_MASKS = "colour"
PICTURES, CHARTS, MATCH = "pictures", "charts", "match"


def require_run(what_the_page_does: str) -> ComparisonRun:
    """The current run; without one, say what to do, link the compare page and stop the page."""
    run = current_run()
    if run is None:
        st.info(
            tr(f"Run a comparison first: {what_the_page_does}", f"まず比較を実行してください: {what_the_page_does}"),
            icon=":material/info:",
        )
        st.page_link("pages/compare.py", label=tr("Go to Compare settings", "設定の比較へ"), icon=":material/compare:")
        st.stop()
    return run


def jpeg(picture: np.ndarray) -> bytes:
    """A picture encoded once for the browser (Streamlit would encode an array again on every rerun)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("the picture could not be encoded")
    return data.tobytes()


def original_picture(run: ComparisonRun) -> bytes:
    return memo(("original", run.image_key), lambda: jpeg(run.image))


def _table_key(index: int) -> str:
    """The mask table's widget key, one per setting: a re-filter updates the table in the browser, not a new one."""
    return f"mask_table_{index}"


def selected_ids(run: ComparisonRun, index: int) -> tuple[int, ...]:
    """Mask ids of the rows selected in setting `index`'s table (row positions are mask ids).

    Once the setting's masks change (a re-filter), the pick is cleared in the browser too: its row
    positions would name other masks. Call before the table is drawn in a script run.
    """
    key = _table_key(index)
    owners: dict[int, tuple] = st.session_state.setdefault(TABLE_MASKS_KEY, {})
    if owners.get(index) != run.setting_key(index):
        owners[index] = run.setting_key(index)
        if st.session_state.get(key):
            st.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": []}}
        return ()
    state = st.session_state.get(key)
    if not state:
        return ()
    rows = state["selection"]["rows"]
    return tuple(sorted(int(row) for row in rows if 0 <= int(row) < len(run.masks[index])))


def _caption(run: ComparisonRun, index: int) -> str:
    result = run.results[index]
    if run.was_reused(index):
        source = tr("unchanged, kept from the run before", "変更なし（前回の結果をそのまま使用）")
    elif result.from_cache:
        source = tr("re-filtered from cache, no network pass", "キャッシュから再フィルタ（ネットワーク計算なし）")
    else:
        source = f"{result.timings.total:.2f} s"
    several_models = len({run.model_for(i) for i in range(len(run.results))}) > 1
    model = f" · {run.model_for(index)}" if several_models else ""  # the model axis: say which, per picture
    return f"**{result.config.name}**: {mask_count(len(result), language())} · {source}{model}"


def _picture(
    run: ComparisonRun, index: int, view: str, opacity: float, outlines: bool, show: bool, highlight: tuple[int, ...]
) -> bytes:
    """Setting `index`'s picture, encoded; kept in the memo under what it shows."""
    key = run.setting_key(index)
    if view == COLOUR_MASKS:
        return memo(("colour", key), lambda: jpeg(colour_mask_image(run.masks[index])))
    options = OverlayOptions(opacity=opacity if show else 0.0, outlines=outlines and show)
    if highlight:
        options = OverlayOptions(
            opacity=max(opacity, 0.6), outlines=True, highlight_ids=highlight, dimmed_opacity=0.1 if show else 0.0
        )
    return memo(("overlay", key, options), lambda: jpeg(overlay(run.image, run.masks[index], options)))


def _grid(count: int, per_row: int) -> list[Any]:
    cells: list[Any] = []
    for row in range(math.ceil(count / per_row)):
        cells += st.columns(per_row)[: min(per_row, count - row * per_row)]
    return cells


def _pictures(run: ComparisonRun) -> None:
    """Overlays in a grid (up to four across), then one setting's selectable mask table with downloads."""
    controls = st.columns([2, 1, 1, 2], vertical_alignment="bottom")
    opacity = controls[0].slider(tr("Mask opacity", "マスクの不透明度"), 0.0, 1.0, 0.5, 0.05, key="overlay_opacity")
    outlines = controls[1].checkbox(tr("Outlines", "輪郭"), True, key="overlay_outlines")
    show = controls[2].checkbox(tr("Show masks", "マスクを表示"), True, key="overlay_show")
    view = controls[3].segmented_control(
        tr("Picture", "表示"),
        [OVERLAY, COLOUR_MASKS],
        default=OVERLAY,
        key="overlay_view",
        format_func={
            OVERLAY: tr("Overlay", "重ね合わせ"),
            COLOUR_MASKS: tr("Colour masks", "マスクの色分け"),
        }.__getitem__,
    )
    view = view or OVERLAY

    n = len(run.results)
    # The pictures first (the changed ones are painted), then the grid that shows them.
    highlights = [selected_ids(run, index) for index in range(n)]
    pictures = [_picture(run, index, view, opacity, outlines, show, highlights[index]) for index in range(n)]
    cells = _grid(n + 1, min(n + 1, 4))
    with cells[0]:
        st.image(
            original_picture(run),
            caption=tr(f"Original: {run.image_name}", f"元画像: {run.image_name}"),
            width="stretch",
        )
    for index, (picture, highlight) in enumerate(zip(pictures, highlights, strict=True)):
        with cells[index + 1]:
            st.image(picture, width="stretch")
            st.markdown(_caption(run, index))
            if highlight:
                st.caption(
                    tr(f"{len(highlight)} selected mask(s) highlighted", f"選んだ {len(highlight)} 個のマスクを強調")
                )

    st.subheader(tr("Masks", "マスク"))
    names = [result.config.name for result in run.results]
    index = st.segmented_control(
        tr("Setting", "設定"), range(n), default=0, format_func=lambda i: names[i], key="mask_table_setting"
    )
    index = 0 if index is None or index >= n else int(index)
    st.caption(
        tr(
            "Click rows to highlight masks in the overlay (shift/ctrl for several); click a header to sort. Name "
            "what the selected masks are (their class) and download them as a dataset: every export writes the "
            "class names as categories; a mask without one is `object`.",
            "行をクリックすると重ね合わせ画像でそのマスクを強調します（複数は shift / ctrl）。"
            "見出しをクリックで並べ替え。選んだマスクに名前（クラス）を付けてデータセットとしてダウンロードできます。"
            "どの形式もクラス名をカテゴリとして書き出し、名前のないマスクは `object` になります。",
        )
    )
    st.number_input(
        tr(
            "Polygon tolerance (px), for the COCO polygon and YOLO downloads",
            "ポリゴンの許容誤差（px）: COCO ポリゴンと YOLO のダウンロード用",
        ),
        min_value=0.0,
        max_value=20.0,
        value=DEFAULT_TOLERANCE,
        step=0.5,
        key=POLYGON_TOLERANCE_KEY,
        help=tr(
            "How far a polygon may leave the mask's outline. Each mask's polygon is tightened where needed so "
            "that it still covers its mask with IoU ≥ 0.98; 0 gives the exact outline.",
            "ポリゴンがマスクの輪郭からどこまで離れてよいか。各マスクのポリゴンは、マスクとの IoU が 0.98 以上を"
            "保つよう必要に応じて細かくします。0 で輪郭そのものです。",
        ),
    )
    _mask_tab(run, index)


def setting_mask_table(run: ComparisonRun, index: int) -> pd.DataFrame:
    return memo(("table", run.setting_key(index)), lambda: mask_table(run.masks[index]))


def selectable_mask_table(table: pd.DataFrame, key: str) -> None:
    """A setting's mask table whose rows the user selects (row position = mask id), as every page shows it."""
    st.dataframe(
        table,
        key=key,
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        height=min(38 + 35 * max(len(table), 1), 320),
        column_config=column_config(table.columns),
    )


def _labelled_table(run: ComparisonRun, index: int) -> Any:
    labels = labels_of(run, index)
    table = mask_table(run.masks[index]).copy()
    table.insert(1, "class", class_names(labels, table["id"].tolist()))
    return table


def _apply_class(run: ComparisonRun, index: int, chosen: tuple[int, ...]) -> None:
    """Button callback (runs before the rerun, so the table already shows the names)."""
    name = st.session_state.get(f"class_pick_{index}")
    notice_key = f"class_notice_{index}"
    try:
        labels = labels_of(run, index).named(chosen, str(name or ""))
    except LabelError as error:
        st.session_state[notice_key] = ("error", f"{error}.")
        return
    problem = set_labels(run, index, labels)
    if problem:
        st.session_state[notice_key] = (
            "warning",
            tr(
                f"Class names are used by the downloads but not kept: {problem}.",
                f"クラス名はダウンロードに使われますが、保存されていません: {problem}。",
            ),
        )


def _name_selected(run: ComparisonRun, index: int, chosen: tuple[int, ...]) -> None:
    """Pick or type a class name and give it to the selected masks."""
    pick, apply = st.columns([3, 1], vertical_alignment="bottom")
    pick.selectbox(
        tr("Class of the selected masks", "選んだマスクのクラス"),
        class_choices(run),
        index=0,
        accept_new_options=True,
        key=f"class_pick_{index}",
        help=tr(
            "Pick a class already used, or type a new one. Masks without a class are exported as `object`.",
            "使用済みのクラスを選ぶか、新しい名前を入力します。クラスのないマスクは `object` として書き出します。",
        ),
        disabled=not chosen,
    )
    apply.button(
        tr(f"Name {len(chosen)} mask(s)", f"{len(chosen)} 個のマスクに名前を付ける")
        if chosen
        else tr("Name selected masks", "選んだマスクに名前を付ける"),
        key=f"class_apply_{index}",
        disabled=not chosen,
        on_click=_apply_class,
        args=(run, index, chosen),
        width="stretch",
    )
    notice = st.session_state.pop(f"class_notice_{index}", None)
    if notice is not None:
        kind, message = notice
        (st.error if kind == "error" else st.warning)(message)


def _mask_tab(run: ComparisonRun, index: int) -> None:
    labels = labels_of(run, index)
    table = memo(("table", run.setting_key(index), labels), lambda: _labelled_table(run, index))
    chosen = selected_ids(run, index)
    selectable_mask_table(table, _table_key(index))
    _name_selected(run, index, chosen)
    selected_label, all_label = tr("selected masks", "選んだマスク"), tr("all masks", "すべてのマスク")
    scope_column, format_column, button_column = st.columns([2, 2, 1], vertical_alignment="bottom")
    scope = scope_column.radio(
        tr("Which masks", "対象のマスク"),
        [selected_label, all_label],
        index=0 if chosen else 1,
        horizontal=True,
        key=f"download_scope_{index}_{bool(chosen)}_{language()}",  # a new default once rows are chosen
        disabled=not chosen,
        help=tr(
            "Select rows in the table to export only those masks.", "表の行を選ぶと、そのマスクだけを書き出します。"
        ),
    )
    formats = {export.suffix: export for export in EXPORT_FORMATS}
    labels_shown = {suffix: export_label(export) for suffix, export in formats.items()}
    suffix = format_column.selectbox(
        tr("Format", "形式"), list(formats), format_func=labels_shown.__getitem__, key=f"download_format_{language()}"
    )
    export = formats[str(suffix)]
    mask_ids = chosen if (chosen and scope == selected_label) else None
    tolerance = float(st.session_state.get(POLYGON_TOLERANCE_KEY, DEFAULT_TOLERANCE))
    request = ExportRequest(
        run.image, run.masks[index], mask_ids, run.image_name, run.model_for(index), labels, tolerance
    )
    button_column.download_button(
        tr("Download", "ダウンロード"),
        # Built only when clicked: a ZIP of hundreds of masks is not made on every rerun.
        data=lambda: export.build(request),
        file_name=file_name(run.results[index].config.name, export, mask_ids),
        mime=export.mime,
        on_click="ignore",
        icon=":material/download:",
        key=f"download_{index}",
        width="stretch",
    )


def _charts(run: ComparisonRun) -> None:
    results = list(run.results)
    key = (tuple(run.setting_key(i) for i in range(len(results))), language())
    figures = memo(
        ("charts", key),
        lambda: (
            score_histogram(results, "predicted_iou"),
            score_histogram(results, "stability_score"),
            area_histogram(results),
            score_scatter(results),
        ),
    )
    left, right = st.columns(2)
    left.plotly_chart(figures[0], key="chart_predicted_iou")
    right.plotly_chart(figures[1], key="chart_stability_score")
    left, right = st.columns(2)
    left.plotly_chart(figures[2], key="chart_area")
    right.plotly_chart(figures[3], key="chart_scatter")


def legend_html(entries: list[tuple[str, tuple[int, int, int]]]) -> str:
    """A real legend: a coloured square and the full label per entry, as page text (never cut, never pixelated)."""
    return "\n".join(
        f"- <span style='color: rgb{tuple(colour)}; font-size: 1.2em'>■</span> {label}" for label, colour in entries
    )


def match_legend_entries(report: Any) -> list[tuple[str, tuple[int, int, int]]]:
    (_, matched), (_, only_a), (_, only_b) = match_legend(report)
    return [
        (
            tr(
                f"**matched** in both ({report.matched_count}): greens and blues",
                f"**両方で一致**（{report.matched_count}）: 緑・青系",
            ),
            matched,
        ),
        (
            tr(
                f"**only in {report.setting_a}** ({len(report.only_in_a)})",
                f"**{report.setting_a} だけ**（{len(report.only_in_a)}）",
            ),
            only_a,
        ),
        (
            tr(
                f"**only in {report.setting_b}** ({len(report.only_in_b)})",
                f"**{report.setting_b} だけ**（{len(report.only_in_b)}）",
            ),
            only_b,
        ),
    ]


def _match(run: ComparisonRun) -> None:
    if len(run.results) < 2:
        st.info(
            tr(
                "Add a second setting and run again to match masks between two settings.",
                "2 つ目の設定を追加して実行すると、設定間でマスクを対応付けられます。",
            )
        )
        return
    names = [result.config.name for result in run.results]
    pick_a, pick_b, pick_iou = st.columns([2, 2, 2])
    a = pick_a.selectbox(tr("Setting A", "設定 A"), range(len(names)), 0, format_func=lambda i: names[i], key="match_a")
    b = pick_b.selectbox(tr("Setting B", "設定 B"), range(len(names)), 1, format_func=lambda i: names[i], key="match_b")
    threshold = pick_iou.slider(tr("Match at IoU ≥", "一致とみなす IoU ≥"), 0.05, 1.0, 0.5, 0.05, key="match_iou")
    if a == b:
        st.warning(tr("Choose two different settings.", "異なる 2 つの設定を選んでください。"))
        return
    pair = (run.setting_key(a), run.setting_key(b), threshold)
    report = memo(("match", pair), lambda: match_masks(run.masks[a], run.masks[b], threshold))
    picture = memo(("match_picture", pair), lambda: jpeg(match_picture(run.image, run.masks[a], run.masks[b], report)))
    left, right = st.columns([1, 1])
    left.image(picture, width="stretch")
    with right:
        st.markdown(
            tr(
                f"{report.matched_count} matched at IoU ≥ {threshold:g}"
                + (f", mean IoU {report.mean_iou:.3f}" if report.pairs else "")
                + f"; {report.setting_a}: {report.count_a} masks, {report.setting_b}: {report.count_b} masks.",
                f"IoU ≥ {threshold:g} で {report.matched_count} 組が一致"
                + (f"（平均 IoU {report.mean_iou:.3f}）" if report.pairs else "")
                + f"。{report.setting_a}: {report.count_a} 個、{report.setting_b}: {report.count_b} 個。",
            )
        )
        st.markdown(legend_html(match_legend_entries(report)), unsafe_allow_html=True)
        pairs = report.pairs_frame()
        st.dataframe(pairs, hide_index=True, height=240, column_config=column_config(pairs.columns))


def comparison_frame(run: ComparisonRun) -> pd.DataFrame:
    """One row per setting; made again only when a setting's masks or model change, each row kept while its own do."""
    shown = tuple((run.setting_key(i), run.model_for(i)) for i in range(len(run.masks)))
    return memo(("comparison", shown), lambda: _comparison_frame(run))


def _comparison_frame(run: ComparisonRun) -> pd.DataFrame:
    rows = [
        memo(("summary", run.setting_key(i)), lambda i=i: comparison_table([run.masks[i]]))
        for i in range(len(run.masks))
    ]
    frame = pd.concat(rows, ignore_index=True)
    frame["model"] = [run.model_for(i) for i in range(len(run.masks))]  # the sidebar's where a setting names none
    return frame


@st.fragment
def _results_fragment() -> None:
    run = current_run()
    if run is None:
        return
    labels = {
        PICTURES: tr("Overlays and masks", "重ね合わせとマスク"),
        CHARTS: tr("Charts", "グラフ"),
        MATCH: tr("Match two settings", "2 つの設定の対応"),
    }
    view = st.segmented_control(
        tr("View", "表示"), list(labels), default=PICTURES, format_func=labels.__getitem__, key="results_view"
    )
    if view == CHARTS:
        _charts(run)
    elif view == MATCH:
        _match(run)
    else:
        _pictures(run)


def show_results(run: ComparisonRun, stale: bool, note: str | None = None) -> Any:
    """The results; returns the placeholder of `note` (a run under way), which the run replaces when it ends."""
    st.header(tr("Results", "結果"))
    cache_note = (
        tr(
            " Every setting was re-filtered from the cached decoder output: no network pass.",
            " すべての設定をキャッシュしたデコーダ出力から再フィルタしました（ネットワーク計算なし）。",
        )
        if run.network_free
        else ""
    )
    st.caption(
        tr(
            f"{run.image_name} ({run.image.shape[1]} × {run.image.shape[0]} px) · model {run.models_text} on "
            f"{run.device} · {run.seconds:.2f} s.{cache_note}",
            f"{run.image_name}（{run.image.shape[1]} × {run.image.shape[0]} px） · モデル {run.models_text}"
            f"（{run.device}） · {run.seconds:.2f} 秒。{cache_note}",
        )
    )
    note_slot = st.empty()
    if note:
        note_slot.info(note, icon=":material/hourglass:")
    elif stale:
        st.warning(
            tr(
                "The settings or image changed since these results were made; press Run to update them.",
                "この結果の後に設定か画像が変わりました。更新するには「比較を実行」を押してください。",
            )
        )
    table = comparison_frame(run)
    st.dataframe(table, hide_index=True, key="comparison_table", column_config=column_config(table.columns))
    _results_fragment()
    return note_slot
