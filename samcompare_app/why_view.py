"""The Why page's parts: funnels, all-candidate histograms, the dropped-candidate table and picture, the sweep.

Everything comes from the current comparison run: each result's funnel, and the candidates the
engine cached for it (`setting_candidates`, no network while the shared cache holds them).
Session state keeps only small things: the completed funnels and the sweep tables, per run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
from segment_anything.modeling import Sam

from samcompare.config import AmgConfig
from samcompare.engine import FATES, Funnel, Progress, SettingCandidates, filter_setting, setting_candidates
from samcompare.engine.plan import plan_crops
from samcompare.explain import SweepAxis, SweepError, SweepResult, sweep, sweep_floor
from samcompare.explain.figures import (
    FATE_COLOURS,
    fate_histogram,
    funnel_figure,
    setting_colour,
    sweep_curve,
    sweep_heatmap,
)
from samcompare.explain.pictures import candidates_picture
from samcompare.explain.sweep import DEFAULT_BOX_NMS, DEFAULT_PRED_IOU, DEFAULT_STABILITY
from samcompare.results.pictures import mask_colour
from samcompare_app.comparison import ComparisonRun
from samcompare_app.resources import shared_comparison_cache
from samcompare_app.results_view import _memo
from samcompare_app.settings_editor import add_setting

COMPLETED_KEY = "why_completed_funnels"  # run_id -> funnels with every candidate post-processed
SWEEPS_KEY = "why_sweeps"  # (run_id, setting index) -> SweepOutcome
ADDED_KEY = "why_added_setting"
MAX_SHOWN = 24  # candidates drawn at once


def _progress_text(progress: Progress) -> str:
    if progress.stage == "decoding":
        return f"decoding (crop {progress.crop_index + 1}/{progress.n_crops}, batch {progress.batch_index})"
    return progress.stage


def funnels_of(run: ComparisonRun) -> tuple[Funnel, ...] | None:
    """The run's funnels (completed ones where the user asked for every candidate); None when a result has none."""
    completed: dict[int, tuple[Funnel, ...]] = st.session_state.get(COMPLETED_KEY, {})
    if run.run_id in completed:
        return completed[run.run_id]
    funnels = tuple(result.funnel for result in run.results if result.funnel is not None)
    return funnels if len(funnels) == len(run.results) else None


def rebuild_funnels(model_loader: Any, run: ComparisonRun, everything: bool) -> None:
    """Filter every setting again from its candidates (cached, or decoded anew) to get funnels; rerun the page."""
    model = model_loader()
    bar = st.progress(0.0, text="fetching the candidates")
    floor = None if everything else _lowest_threshold(run)
    funnels = []
    for index, config in enumerate(run.configs):
        bar.progress(index / len(run.configs), text=f"{config.name}: fetching and filtering the candidates")
        candidates = setting_candidates(model, run.image, config, floor=floor, cache=shared_comparison_cache())
        funnel = filter_setting(candidates, config).funnel
        assert funnel is not None
        funnels.append(funnel)
    bar.progress(1.0, text="done")
    st.session_state.setdefault(COMPLETED_KEY, {})[run.run_id] = tuple(funnels)
    st.rerun()


def missing_funnels_section(model_loader: Any, run: ComparisonRun) -> None:
    st.info(
        "This run's results carry no funnel (it was reopened from History, which keeps the masks, not every "
        "candidate). Rebuilding filters each setting again from its candidates: no network while the cache "
        "still holds this image's decode, else a decode as long as the run was.",
        icon=":material/info:",
    )
    if st.button("Rebuild the funnels", key=f"rebuild_{run.run_id}"):
        rebuild_funnels(model_loader, run, everything=False)


def _lowest_threshold(run: ComparisonRun) -> float:
    return min(config.pred_iou_thresh for config in run.configs)


def candidates_for(model: Sam, run: ComparisonRun, index: int, everything: bool) -> SettingCandidates:
    """The setting's candidates as far as the run (or the completion) post-processed them."""
    floor = None if everything else _lowest_threshold(run)
    with st.spinner("Fetching the candidates (from the cache when it still holds them)…"):
        return setting_candidates(model, run.image, run.configs[index], floor=floor, cache=shared_comparison_cache())


def funnel_section(run: ComparisonRun, funnels: tuple[Funnel, ...]) -> None:
    st.subheader("The funnel of each setting")
    st.caption(
        "Candidates are every prompt point's three masks (per crop). Each stage is the official generator's, "
        "in its own order; the last count is the number of masks the official generator returns."
    )
    per_row = min(len(funnels), 3)
    for start in range(0, len(funnels), per_row):
        columns = st.columns(per_row)
        for column, (offset, funnel) in zip(columns, enumerate(funnels[start : start + per_row]), strict=False):
            column.plotly_chart(
                funnel_figure(funnel, setting_colour(start + offset)), key=f"funnel_{run.run_id}_{start + offset}"
            )


def completion_section(model_loader: Any, run: ComparisonRun, funnels: tuple[Funnel, ...]) -> None:
    missing = max(int((~funnel.computed).sum()) for funnel in funnels)
    if missing == 0:
        st.caption("Every candidate's stability score and mask are known.")
        return
    total = max(len(funnel) for funnel in funnels)
    counts = ", ".join(
        f"{config.name}: {int((~funnel.computed).sum())} of {len(funnel)}"
        for config, funnel in zip(run.configs, funnels, strict=True)
    )
    st.info(
        f"Candidates never up-scaled ({counts}): they lie under every setting's pred_iou_thresh. Like the official "
        "generator, the engine skipped them, so their stability score, area and mask are unknown (blank below). "
        "Computing them up-scales their waiting low-resolution masks: no network pass while the cache holds them, "
        "but it takes a while on large images.",
        icon=":material/info:",
    )
    if st.button(f"Compute stability and masks of all {total} candidates", key=f"complete_{run.run_id}"):
        rebuild_funnels(model_loader, run, everything=True)


def histogram_section(run: ComparisonRun, funnels: tuple[Funnel, ...]) -> None:
    st.subheader("Scores of all candidates")
    names = [config.name for config in run.configs]
    chosen = st.selectbox(
        "Colour the candidates by their fate under",
        range(len(names)),
        format_func=lambda i: names[i],
        key=f"why_colour_setting_{run.run_id}",
        help="Dashed lines: every setting's threshold, in the setting's colour.",
    )
    left, right = st.columns(2)
    for column, score in ((left, "predicted_iou"), (right, "stability_score")):
        column.plotly_chart(
            fate_histogram(funnels[chosen], score, run.configs), key=f"why_hist_{score}_{run.run_id}_{chosen}"
        )


@st.fragment
def dropped_section(model_loader: Any, run: ComparisonRun, funnels: tuple[Funnel, ...], everything: bool) -> None:
    st.subheader("Which candidates were dropped, and why")
    names = [config.name for config in run.configs]
    pick, fates_column = st.columns([1, 2])
    index = pick.selectbox(
        "Setting", range(len(names)), format_func=lambda i: names[i], key=f"why_table_setting_{run.run_id}"
    )
    funnel = funnels[index]
    present = [fate for fate in FATES if funnel.dropped_at(fate) or (fate == "kept" and funnel.kept)]
    chosen_fates = fates_column.multiselect(
        "Fates shown",
        present,
        default=[fate for fate in present if fate != "kept"],
        key=f"why_fates_{run.run_id}_{index}",
    )
    ids = np.flatnonzero(np.isin(funnel.fates, chosen_fates))
    # Reasons are written per row: keep the table across the fragment's reruns (row picks, typed ids).
    table = _memo(("why_table", run.run_id, index, everything, tuple(chosen_fates)), lambda: funnel.table(ids))
    table_key = f"why_table_{run.run_id}_{index}_{everything}"
    st.dataframe(
        table[["id", "fate", "reason", "predicted_iou", "stability_score", "area", "crop", "point_x", "point_y"]],
        key=table_key,
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        height=300,
        column_config={
            "predicted_iou": st.column_config.NumberColumn(format="%.3f"),
            "stability_score": st.column_config.NumberColumn(format="%.3f"),
            "area": st.column_config.NumberColumn(format="%.0f"),
            "point_x": st.column_config.NumberColumn(format="%.1f"),
            "point_y": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    state = st.session_state.get(table_key)
    rows = [int(r) for r in state["selection"]["rows"]] if state else []
    selected = [int(table["id"].iloc[r]) for r in rows if 0 <= r < len(table)]
    typed = st.text_input(
        "Or show candidates by id",
        key=f"why_ids_{run.run_id}_{index}",
        placeholder="e.g. 12, 40 (a suppressor named in a reason, say)",
    )
    typed_ids, problem = parse_ids(typed, len(funnel))
    if problem:
        st.warning(problem)
    selected = list(dict.fromkeys([*selected, *typed_ids]))[:MAX_SHOWN]
    if not selected:
        st.caption(f"{len(table)} candidates shown. Select rows (shift/ctrl for several) to see their masks.")
        return
    candidates = candidates_for(model_loader(), run, index, everything)
    picture, missing = candidates_picture(run.image, candidates, funnel, selected)
    left, right = st.columns([3, 2])
    left.image(picture, width="stretch", caption="Selected candidates; white boxes: the masks that suppressed them")
    with right:
        for position, candidate in enumerate(c for c in selected if c not in missing):
            colour = "#{:02x}{:02x}{:02x}".format(*mask_colour(position))
            st.markdown(
                f"<span style='color:{colour}'>■</span> **#{candidate}** ({funnel.fates[candidate]}): "
                f"{funnel.reason(candidate)}",
                unsafe_allow_html=True,
            )
        if missing:
            st.caption(
                f"No mask for {', '.join(f'#{m}' for m in missing)}: never up-scaled. "
                "Compute all candidates above to see them."
            )


def parse_ids(text: str, count: int) -> tuple[list[int], str | None]:
    """Candidate ids typed as "12, 40 7"; the ids that exist, and a message about the rest."""
    ids, bad = [], []
    for part in text.replace(",", " ").split():
        if part.lstrip("#").isdigit() and int(part.lstrip("#")) < count:
            ids.append(int(part.lstrip("#")))
        else:
            bad.append(part)
    problem = f"No candidate {', '.join(bad)}: ids run from 0 to {count - 1}." if bad else None
    return ids, problem


@dataclass(frozen=True, eq=False)
class SweepOutcome:
    grid: SweepResult
    curves: tuple[SweepResult, ...]
    axes_key: tuple[Any, ...]


def _axis_inputs(label: str, parameter: str, defaults: tuple[float, float, int], key: str) -> SweepAxis:
    a, b, c = st.columns(3)
    integer = parameter == "min_mask_region_area"
    step = 1.0 if integer else 0.01
    start = a.number_input(f"{label}: from", value=float(defaults[0]), step=step, key=f"{key}_start")
    stop = b.number_input(f"{label}: to", value=float(defaults[1]), step=step, key=f"{key}_stop")
    count = c.number_input(f"{label}: values", value=int(defaults[2]), min_value=1, max_value=25, key=f"{key}_count")
    return SweepAxis.linspace(parameter, start, stop, int(count))


@st.fragment
def sweep_section(model_loader: Any, run: ComparisonRun) -> None:
    st.subheader("Sweep the thresholds")
    st.caption(
        "Every cell filters the cached candidates of one setting with other thresholds, exactly as the official "
        "generator would: its count equals a full generator run with that setting, without the network."
    )
    names = [config.name for config in run.configs]
    index = st.selectbox("Base setting", range(len(names)), format_func=lambda i: names[i], key="sweep_base")
    base = run.configs[index]
    height, width = run.image.shape[:2]
    area_stop = max(100, round(0.002 * height * width))
    try:
        with st.expander("Ranges", expanded=False):
            iou_axis = _axis_inputs("pred_iou_thresh", "pred_iou_thresh", DEFAULT_PRED_IOU, "sweep_iou")
            stability_axis = _axis_inputs(
                "stability_score_thresh", "stability_score_thresh", DEFAULT_STABILITY, "sweep_stability"
            )
            nms_axis = _axis_inputs("box_nms_thresh", "box_nms_thresh", DEFAULT_BOX_NMS, "sweep_nms")
            area_axis = _axis_inputs("min_mask_region_area", "min_mask_region_area", (0, area_stop, 9), "sweep_area")
    except SweepError as error:
        st.error(f"{error}. Fix the range to sweep.", icon=":material/error:")
        return
    # The grid also holds the values of the run's settings that share the base's plan, so they have cells.
    image_size = (int(height), int(width))
    related = [c for c in run.configs if plan_crops(c, image_size) == plan_crops(base, image_size)]
    iou_axis = iou_axis.including([c.pred_iou_thresh for c in related])
    stability_axis = stability_axis.including([c.stability_score_thresh for c in related])
    nms_axis = nms_axis.including([base.box_nms_thresh])
    area_axis = area_axis.including([base.min_mask_region_area])
    axes_key = (iou_axis, stability_axis, nms_axis, area_axis)
    sweeps: dict[tuple[int, int], SweepOutcome] = st.session_state.setdefault(SWEEPS_KEY, {})
    outcome = sweeps.get((run.run_id, index))
    floor = sweep_floor(base, [iou_axis])
    label = "Run the sweep" if outcome is None else "Sweep again with these ranges"
    if st.button(label, key="sweep_button", type="primary" if outcome is None else "secondary"):
        outcome = _run_sweep(model_loader(), run, base, axes_key, floor)
        sweeps[(run.run_id, index)] = outcome
    if outcome is None:
        cells = len(iou_axis.values) * len(stability_axis.values)
        st.caption(f"{cells} cells, plus {len(nms_axis.values)} box NMS and {len(area_axis.values)} area values.")
        return
    if outcome.axes_key != axes_key:
        st.caption("The ranges changed since this sweep; press the button to sweep them.")
    _show_sweep(run, index, outcome)


def _run_sweep(model: Sam, run: ComparisonRun, base: AmgConfig, axes: tuple[SweepAxis, ...], floor: float | None):
    iou_axis, stability_axis, nms_axis, area_axis = axes
    bar = st.progress(0.0, text="fetching the candidates")

    def on_progress(progress: Progress) -> None:
        bar.progress(0.5 * progress.fraction, text=_progress_text(progress))

    tick = time.perf_counter()
    candidates = setting_candidates(
        model, run.image, base, floor=floor, cache=shared_comparison_cache(), progress=on_progress
    )
    total = len(iou_axis.values) * len(stability_axis.values) + len(nms_axis.values) + len(area_axis.values)
    done = [0]

    def on_cell(_: int, __: int) -> None:
        done[0] += 1
        if done[0] % 5 == 0 or done[0] == total:
            bar.progress(0.5 + 0.5 * done[0] / total, text=f"cell {done[0]} of {total}")

    grid = sweep(candidates, [iou_axis, stability_axis], base, on_cell)
    curves = tuple(sweep(candidates, [axis], base, on_cell) for axis in (nms_axis, area_axis))
    bar.progress(1.0, text=f"{total} cells in {time.perf_counter() - tick:.2f} s")
    return SweepOutcome(grid, curves, axes)


def _show_sweep(run: ComparisonRun, index: int, outcome: SweepOutcome) -> None:
    grid = outcome.grid
    image_size = (int(run.image.shape[0]), int(run.image.shape[1]))
    plan = plan_crops(grid.base, image_size)
    on_grid = set(grid.axes[0].values), set(grid.axes[1].values)
    markers = [
        (config, setting_colour(i))
        for i, config in enumerate(run.configs)
        if plan_crops(config, image_size) == plan
        and config.pred_iou_thresh in on_grid[0]
        and config.stability_score_thresh in on_grid[1]
        and config.box_nms_thresh == grid.base.box_nms_thresh
        and config.min_mask_region_area == grid.base.min_mask_region_area
        and config.stability_score_offset == grid.base.stability_score_offset
    ]
    value = st.segmented_control(
        "Cells show", ["masks", "coverage_pct"], default="masks", key="sweep_value", format_func=_value_label
    )
    x_values = [float(v) for v in grid.axes[0].values]
    y_values = [float(v) for v in grid.axes[1].values]
    event = st.plotly_chart(
        sweep_heatmap(grid, value or "masks", markers),
        key=f"sweep_heatmap_{run.run_id}_{index}",
        on_select="rerun",
        selection_mode="points",
    )
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points and "x" in points[0] and "y" in points[0]:
        st.session_state["sweep_pick_iou"] = _nearest(x_values, float(points[0]["x"]))
        st.session_state["sweep_pick_stability"] = _nearest(y_values, float(points[0]["y"]))
    st.caption(
        f"Squares: the run's settings with this plan and these NMS and area values. {len(grid.frame)} cells "
        f"filtered in {grid.seconds:.2f} s from {grid.candidates} candidates. Click a cell to pick it."
    )
    pick_iou, pick_stability, cell_text, add_column = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
    if st.session_state.get("sweep_pick_iou") not in x_values:
        st.session_state["sweep_pick_iou"] = _nearest(x_values, grid.base.pred_iou_thresh)
    if st.session_state.get("sweep_pick_stability") not in y_values:
        st.session_state["sweep_pick_stability"] = _nearest(y_values, grid.base.stability_score_thresh)
    x = pick_iou.selectbox("pred_iou_thresh", x_values, key="sweep_pick_iou")
    y = pick_stability.selectbox("stability_score_thresh", y_values, key="sweep_pick_stability")
    row = int(
        np.flatnonzero(
            np.isclose(grid.frame["pred_iou_thresh"], x) & np.isclose(grid.frame["stability_score_thresh"], y)
        )[0]
    )
    cell = grid.frame.iloc[row]
    cell_text.markdown(f"**{int(cell['masks'])} masks**, {cell['coverage_pct']:.1f} % covered")
    if add_column.button("Add to the comparison", key="sweep_add", width="stretch"):
        config = grid.config_at(row)
        problem = add_setting(config)
        st.session_state[ADDED_KEY] = problem or f"Added “{config.name}” to the Compare page: run it there."
    message = st.session_state.get(ADDED_KEY)
    if message:
        (st.success if message.startswith("Added") else st.warning)(message)
    left, right = st.columns(2)
    for column, curve in zip((left, right), outcome.curves, strict=True):
        column.plotly_chart(sweep_curve(curve, markers[:1]), key=f"sweep_curve_{curve.parameters[0]}_{run.run_id}")


def _value_label(value: str) -> str:
    return "masks kept" if value == "masks" else "coverage %"


def _nearest(values: list[float], target: float) -> float:
    return min(values, key=lambda v: abs(v - target))


def legend_markdown() -> str:
    return " · ".join(f"<span style='color:{colour}'>■</span> {fate}" for fate, colour in FATE_COLOURS.items())
