"""The results of a comparison: overlays and mask tables (one fragment), charts, and the match view.

Cosmetic changes (opacity, outlines, row selection) rerun only their fragment: the model is not
touched, masks are decoded once per run (`ComparisonRun.masks`), and finished pictures are kept in
a small per-session memo keyed by run, setting and drawing options.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from samcompare.results import (
    OverlayOptions,
    colour_mask_image,
    mask_count,
    mask_table,
    match_masks,
    match_picture,
    overlay,
)
from samcompare.results.exports import DEFAULT_TOLERANCE
from samcompare.results.labels import LabelError, class_names
from samcompare.results.stats import comparison_table
from samcompare_app.charts import area_histogram, score_histogram, score_scatter
from samcompare_app.comparison import ComparisonRun
from samcompare_app.downloads import EXPORT_FORMATS, ExportRequest, file_name
from samcompare_app.mask_labels import class_choices, labels_of, set_labels

RUN_KEY = "comparison_run"
MEMO_KEY = "picture_memo"
TOLERANCE_KEY = "polygon_tolerance"
MEMO_LIMIT = 48
OVERLAY = "Overlay"
COLOUR_MASKS = "Colour masks"


def current_run() -> ComparisonRun | None:
    return st.session_state.get(RUN_KEY)


def require_run(what_the_page_does: str) -> ComparisonRun:
    """The current run; without one, say what to do, link the compare page and stop the page."""
    run = current_run()
    if run is None:
        st.info(f"Run a comparison first: {what_the_page_does}", icon=":material/info:")
        st.page_link("pages/compare.py", label="Go to Compare settings", icon=":material/compare:")
        st.stop()
    return run


def _memo(key: tuple[Any, ...], make: Any) -> Any:
    """A per-session memo: pictures of the current run only, bounded, never shared with other sessions."""
    memo: dict[tuple[Any, ...], Any] = st.session_state.setdefault(MEMO_KEY, {})
    if key not in memo:
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        memo[key] = make()
    return memo[key]


def _table_key(run: ComparisonRun, index: int) -> str:
    return f"mask_table_{run.run_id}_{index}"


def selected_ids(run: ComparisonRun, index: int) -> tuple[int, ...]:
    """Mask ids of the rows selected in setting `index`'s table (row positions are mask ids)."""
    state = st.session_state.get(_table_key(run, index))
    if not state:
        return ()
    rows = state["selection"]["rows"]
    return tuple(sorted(int(row) for row in rows if 0 <= int(row) < len(run.masks[index])))


def _caption(run: ComparisonRun, index: int) -> str:
    result = run.results[index]
    source = "re-filtered from cache, no network pass" if result.from_cache else f"{result.timings.total:.2f} s"
    return f"**{result.config.name}**: {mask_count(len(result))} · {source}"


def _grid(count: int, per_row: int) -> list[Any]:
    cells: list[Any] = []
    for row in range(math.ceil(count / per_row)):
        cells += st.columns(per_row)[: min(per_row, count - row * per_row)]
    return cells


@st.fragment
def pictures_and_masks() -> None:
    """Overlays side by side, then per setting a selectable mask table with downloads."""
    run = current_run()
    if run is None:
        return
    controls = st.columns([2, 1, 1, 2], vertical_alignment="bottom")
    opacity = controls[0].slider("Mask opacity", 0.0, 1.0, 0.5, 0.05, key="overlay_opacity")
    outlines = controls[1].checkbox("Outlines", True, key="overlay_outlines")
    show = controls[2].checkbox("Show masks", True, key="overlay_show")
    view = controls[3].segmented_control("Picture", [OVERLAY, COLOUR_MASKS], default=OVERLAY, key="overlay_view")
    view = view or OVERLAY

    n = len(run.results)
    cells = _grid(n + 1, min(n + 1, 4))
    with cells[0]:
        st.image(run.image, caption=f"Original: {run.image_name}", width="stretch")
    for index in range(n):
        highlight = selected_ids(run, index)
        options = OverlayOptions(opacity=opacity if show else 0.0, outlines=outlines and show)
        if highlight:
            options = OverlayOptions(
                opacity=max(opacity, 0.6), outlines=True, highlight_ids=highlight, dimmed_opacity=0.1 if show else 0.0
            )
        if view == COLOUR_MASKS:
            picture = _memo(("colour", run.run_id, index), lambda i=index: colour_mask_image(run.masks[i]))
        else:
            picture = _memo(
                ("overlay", run.run_id, index, options),
                lambda i=index, o=options: overlay(run.image, run.masks[i], o),
            )
        with cells[index + 1]:
            st.image(picture, width="stretch")
            st.markdown(_caption(run, index))
            if highlight:
                st.caption(f"{len(highlight)} selected mask(s) highlighted")

    st.subheader("Masks")
    st.caption(
        "Click rows to highlight masks in the overlay (shift/ctrl for several); click a header to sort. Name what "
        "the selected masks are (their class) and download them as a dataset: every export writes the class "
        "names as categories; a mask without one is `object`."
    )
    st.number_input(
        "Polygon tolerance (px), for the COCO polygon and YOLO downloads",
        min_value=0.0,
        max_value=20.0,
        value=DEFAULT_TOLERANCE,
        step=0.5,
        key=TOLERANCE_KEY,
        help="How far a polygon may leave the mask's outline. Each mask's polygon is tightened where needed so "
        "that it still covers its mask with IoU ≥ 0.98; 0 gives the exact outline.",
    )
    tabs = st.tabs([result.config.name for result in run.results])
    for index, tab in enumerate(tabs):
        with tab:
            _mask_tab(run, index)


def selectable_mask_table(table: Any, key: str) -> None:
    """A setting's mask table whose rows the user selects (row position = mask id), as every page shows it."""
    st.dataframe(
        table,
        key=key,
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        height=min(38 + 35 * max(len(table), 1), 320),
        column_config={
            "predicted_iou": st.column_config.NumberColumn(format="%.3f"),
            "stability_score": st.column_config.NumberColumn(format="%.3f"),
        },
    )


def _labelled_table(run: ComparisonRun, index: int) -> Any:
    labels = labels_of(run, index)
    table = mask_table(run.masks[index]).copy()
    table.insert(1, "class", class_names(labels, table["id"].tolist()))
    return table


def _apply_class(run: ComparisonRun, index: int, chosen: tuple[int, ...]) -> None:
    """Button callback (runs before the rerun, so the table already shows the names)."""
    name = st.session_state.get(f"class_pick_{run.run_id}_{index}")
    notice_key = f"class_notice_{run.run_id}_{index}"
    try:
        labels = labels_of(run, index).named(chosen, str(name or ""))
    except LabelError as error:
        st.session_state[notice_key] = ("error", f"{error}.")
        return
    problem = set_labels(run, index, labels)
    if problem:
        st.session_state[notice_key] = ("warning", f"Class names are used by the downloads but not kept: {problem}.")


def _name_selected(run: ComparisonRun, index: int, chosen: tuple[int, ...]) -> None:
    """Pick or type a class name and give it to the selected masks."""
    pick, apply = st.columns([3, 1], vertical_alignment="bottom")
    pick.selectbox(
        "Class of the selected masks",
        class_choices(run),
        index=0,
        accept_new_options=True,
        key=f"class_pick_{run.run_id}_{index}",
        help="Pick a class already used, or type a new one. Masks without a class are exported as `object`.",
        disabled=not chosen,
    )
    apply.button(
        f"Name {len(chosen)} mask(s)" if chosen else "Name selected masks",
        key=f"class_apply_{run.run_id}_{index}",
        disabled=not chosen,
        on_click=_apply_class,
        args=(run, index, chosen),
        width="stretch",
    )
    notice = st.session_state.pop(f"class_notice_{run.run_id}_{index}", None)
    if notice is not None:
        kind, message = notice
        (st.error if kind == "error" else st.warning)(message)


def _mask_tab(run: ComparisonRun, index: int) -> None:
    labels = labels_of(run, index)
    table = _memo(("table", run.run_id, index, labels), lambda: _labelled_table(run, index))
    selectable_mask_table(table, _table_key(run, index))
    chosen = selected_ids(run, index)
    _name_selected(run, index, chosen)
    scope = st.radio(
        "Download",
        ["selected masks", "all masks"],
        index=0 if chosen else 1,
        horizontal=True,
        key=f"download_scope_{run.run_id}_{index}_{bool(chosen)}",  # a new default once rows are chosen
        disabled=not chosen,
        help="Select rows in the table to export only those masks.",
    )
    mask_ids = chosen if (chosen and scope == "selected masks") else None
    tolerance = float(st.session_state.get(TOLERANCE_KEY, DEFAULT_TOLERANCE))
    request = ExportRequest(run.image, run.masks[index], mask_ids, run.image_name, run.model_name, labels, tolerance)
    columns = _grid(len(EXPORT_FORMATS), 4)
    for column, export in zip(columns, EXPORT_FORMATS, strict=True):
        column.download_button(
            export.label,
            # Built only when clicked: a ZIP of hundreds of masks is not made on every rerun.
            data=lambda e=export, r=request: e.build(r),
            file_name=file_name(run.results[index].config.name, export, mask_ids),
            mime=export.mime,
            on_click="ignore",
            key=f"download_{run.run_id}_{index}_{export.suffix}",
            width="stretch",
        )


def charts(run: ComparisonRun) -> None:
    results = list(run.results)
    left, right = st.columns(2)
    left.plotly_chart(score_histogram(results, "predicted_iou"), key="chart_predicted_iou")
    right.plotly_chart(score_histogram(results, "stability_score"), key="chart_stability_score")
    left, right = st.columns(2)
    left.plotly_chart(area_histogram(results), key="chart_area")
    right.plotly_chart(score_scatter(results), key="chart_scatter")


@st.fragment
def match_view() -> None:
    run = current_run()
    if run is None:
        return
    if len(run.results) < 2:
        st.info("Add a second setting and run again to match masks between two settings.")
        return
    names = [result.config.name for result in run.results]
    pick_a, pick_b, pick_iou = st.columns([2, 2, 2])
    a = pick_a.selectbox("Setting A", range(len(names)), 0, format_func=lambda i: names[i], key="match_a")
    b = pick_b.selectbox("Setting B", range(len(names)), 1, format_func=lambda i: names[i], key="match_b")
    threshold = pick_iou.slider("Match at IoU ≥", 0.05, 1.0, 0.5, 0.05, key="match_iou")
    if a == b:
        st.warning("Choose two different settings.")
        return
    report = _memo(("match", run.run_id, a, b, threshold), lambda: match_masks(run.masks[a], run.masks[b], threshold))
    picture = _memo(
        ("match_picture", run.run_id, a, b, threshold),
        lambda: match_picture(run.image, run.masks[a], run.masks[b], report, legend=True),
    )
    left, right = st.columns([1, 1])
    left.image(picture, width=min(640, max(320, picture.shape[1])))
    with right:
        st.markdown(report.summary_text())
        st.markdown(
            "- **greens/blues**: masks both settings found (matched pairs)\n"
            f"- **orange-red**: only in {report.setting_a}\n"
            f"- **magenta**: only in {report.setting_b}"
        )
        st.dataframe(report.pairs_frame(), hide_index=True, height=240)


def show_results(run: ComparisonRun, stale: bool) -> None:
    st.header("Results")
    cache_note = (
        " Every setting was re-filtered from the cached decoder output: no network pass." if run.network_free else ""
    )
    st.caption(
        f"{run.image_name} ({run.image.shape[1]} × {run.image.shape[0]} px) · model {run.model_name} on "
        f"{run.device} · {run.seconds:.2f} s.{cache_note}"
    )
    if stale:
        st.warning("The settings or image changed since these results were made; press Run to update them.")
    table = _memo(("comparison", run.run_id), lambda: comparison_table(list(run.masks)))
    percent = st.column_config.NumberColumn(format="%.1f %%")
    number = st.column_config.NumberColumn(format="%.3f")
    area = st.column_config.NumberColumn(format="%.0f")
    st.dataframe(
        table,
        hide_index=True,
        key=f"comparison_table_{run.run_id}",
        column_config={
            **{name: percent for name in ("coverage_pct", "overlap_pct", "unlabelled_pct")},
            **{name: area for name in ("area_min", "area_q1", "area_median", "area_q3", "area_max")},
            **{name: number for name in table.columns if "iou" in name or "stability" in name},
            "run_seconds": st.column_config.NumberColumn(format="%.2f s"),
        },
    )
    pictures_tab, charts_tab, match_tab = st.tabs(["Overlays and masks", "Charts", "Match two settings"])
    with pictures_tab:
        pictures_and_masks()
    with charts_tab:
        charts(run)
    with match_tab:
        match_view()
