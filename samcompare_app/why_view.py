"""The Why page's parts: funnels, all-candidate histograms, the dropped-candidate table and picture, the sweep.

Everything comes from the current comparison run: each result's funnel, and the candidates the
engine cached for it (`setting_candidates`, no network while the shared cache holds them).
Session state keeps the completed funnels and the sweep tables per run, within the bound that
samcompare_app/state.py sets.
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
from samcompare_app.results_view import jpeg
from samcompare_app.run_control import describe_progress
from samcompare_app.settings_editor import add_setting
from samcompare_app.state import (
    COMPLETED_FUNNELS_KEY,
    LAST_ADDED_KEY,
    SWEEP_PICK_IOU_KEY,
    SWEEP_PICK_STABILITY_KEY,
    SWEEPS_KEY,
    WHY_SELECTION_KEY,
    language,
    memo,
    store,
    tr,
)
from samcompare_app.texts import column_config

MAX_SHOWN = 24  # candidates drawn at once
SWEEP_ADD_BUTTON = "sweep_add"


def funnels_of(run: ComparisonRun) -> tuple[Funnel, ...] | None:
    """The run's funnels (completed ones where the user asked for every candidate); None when a result has none."""
    completed: dict[int, tuple[Funnel, ...]] = st.session_state.get(COMPLETED_FUNNELS_KEY, {})
    if run.run_id in completed:
        return completed[run.run_id]
    funnels = tuple(result.funnel for result in run.results if result.funnel is not None)
    return funnels if len(funnels) == len(run.results) else None


def rebuild_funnels(model_loader: Any, run: ComparisonRun, everything: bool) -> None:
    """Filter every setting again from its candidates (cached, or decoded anew) to get funnels; rerun the page."""
    bar = st.progress(0.0, text=tr("fetching the candidates", "候補を取得中"))
    floor = None if everything else _lowest_threshold(run)
    funnels = []
    for index, config in enumerate(run.configs):
        bar.progress(
            index / len(run.configs),
            text=tr(
                f"{config.name}: fetching and filtering the candidates", f"{config.name}: 候補を取得してフィルタ中"
            ),
        )
        candidates = setting_candidates(
            model_loader(config), run.image, config, floor=floor, cache=shared_comparison_cache()
        )
        funnel = filter_setting(candidates, config).funnel
        assert funnel is not None
        funnels.append(funnel)
    bar.progress(1.0, text=tr("done", "完了"))
    store(COMPLETED_FUNNELS_KEY)[run.run_id] = tuple(funnels)
    st.rerun()


def missing_funnels_section(model_loader: Any, run: ComparisonRun) -> None:
    st.info(
        tr(
            "This run's results carry no funnel (it was reopened from History, which keeps the masks, not every "
            "candidate). Rebuilding filters each setting again from its candidates: no network while the cache "
            "still holds this image's decode, else a decode as long as the run was.",
            "この結果にはファネルがありません（履歴から開いた結果で、マスクは保存されていても全候補はありません）。"
            "再構築すると各設定を候補から再フィルタします。キャッシュにこの画像のデコードがあればネットワーク計算なし、"
            "なければ元の実行と同じくらいのデコードが必要です。",
        ),
        icon=":material/info:",
    )
    if st.button(tr("Rebuild the funnels", "ファネルを再構築"), key=f"rebuild_{run.run_id}"):
        rebuild_funnels(model_loader, run, everything=False)


def _lowest_threshold(run: ComparisonRun) -> float:
    return min(config.pred_iou_thresh for config in run.configs)


def candidates_for(model: Sam, run: ComparisonRun, index: int, everything: bool) -> SettingCandidates:
    """The setting's candidates as far as the run (or the completion) post-processed them."""
    floor = None if everything else _lowest_threshold(run)
    with st.spinner(
        tr(
            "Fetching the candidates (from the cache when it still holds them)…",
            "候補を取得中（キャッシュにあればそこから）…",
        )
    ):
        return setting_candidates(model, run.image, run.configs[index], floor=floor, cache=shared_comparison_cache())


def funnel_section(run: ComparisonRun, funnels: tuple[Funnel, ...]) -> None:
    st.subheader(tr("The funnel of each setting", "各設定のファネル"))
    st.caption(
        tr(
            "Candidates are every prompt point's three masks (per crop). Each stage is the official generator's, "
            "in its own order; the last count is the number of masks the official generator returns.",
            "候補は各プロンプト点の 3 つのマスク（クロップごと）です。各段階は公式の生成器と同じ順序で、"
            "最後の数が公式の生成器が返すマスクの数です。",
        )
    )
    per_row = min(len(funnels), 3)
    lang = language()
    for start in range(0, len(funnels), per_row):
        columns = st.columns(per_row)
        for column, (offset, funnel) in zip(columns, enumerate(funnels[start : start + per_row]), strict=False):
            index = start + offset
            figure = memo(
                ("funnel", run.run_id, index, bool(funnel.computed.all()), lang),
                lambda f=funnel, i=index: funnel_figure(f, setting_colour(i), lang),
            )
            column.plotly_chart(figure, key=f"funnel_{run.run_id}_{index}")


def completion_section(model_loader: Any, run: ComparisonRun, funnels: tuple[Funnel, ...]) -> None:
    missing = max(int((~funnel.computed).sum()) for funnel in funnels)
    if missing == 0:
        st.caption(
            tr(
                "Every candidate's stability score and mask are known.",
                "すべての候補の安定度スコアとマスクが分かっています。",
            )
        )
        return
    total = max(len(funnel) for funnel in funnels)
    counts = ", ".join(
        tr(
            f"{config.name}: {int((~funnel.computed).sum())} of {len(funnel)}",
            f"{config.name}: {len(funnel)} 個中 {int((~funnel.computed).sum())} 個",
        )
        for config, funnel in zip(run.configs, funnels, strict=True)
    )
    st.info(
        tr(
            f"Candidates never up-scaled ({counts}): they lie under every setting's pred_iou_thresh. Like the official "
            "generator, the engine skipped them, so their stability score, area and mask are unknown (shown as None "
            "in the table below). Computing them up-scales their waiting low-resolution masks: no network pass while "
            "the cache holds them, but it takes a while on large images.",
            f"一度も拡大されていない候補（{counts}）: どの設定の pred_iou_thresh にも届きません。公式の生成器と同じく"
            "エンジンはこれらを飛ばしたので、安定度スコア・面積・マスクは不明です（下の表では None）。計算すると"
            "待機中の低解像度マスクを拡大します。キャッシュにあればネットワーク計算はありませんが、大きな画像では"
            "時間がかかります。",
        ),
        icon=":material/info:",
    )
    if st.button(
        tr(f"Compute stability and masks of all {total} candidates", f"全 {total} 候補の安定度とマスクを計算"),
        key=f"complete_{run.run_id}",
    ):
        rebuild_funnels(model_loader, run, everything=True)


def histogram_section(run: ComparisonRun, funnels: tuple[Funnel, ...]) -> None:
    st.subheader(tr("Scores of all candidates", "全候補のスコア"))
    names = [config.name for config in run.configs]
    chosen = st.selectbox(
        tr("Colour the candidates by their fate under", "候補の色分けに使う設定"),
        range(len(names)),
        format_func=lambda i: names[i],
        key=f"why_colour_setting_{run.run_id}",
        help=tr(
            "Dashed lines: every setting's threshold, in the setting's colour.", "破線: 各設定のしきい値（設定の色）。"
        ),
    )
    left, right = st.columns(2)
    lang = language()
    for column, score in ((left, "predicted_iou"), (right, "stability_score")):
        figure = memo(
            ("fate_histogram", run.run_id, chosen, score, bool(funnels[chosen].computed.all()), lang),
            lambda s=score: fate_histogram(funnels[chosen], s, run.configs, language=lang),
        )
        column.plotly_chart(figure, key=f"why_hist_{score}_{run.run_id}_{chosen}")


@st.fragment
def dropped_section(model_loader: Any, run: ComparisonRun, funnels: tuple[Funnel, ...], everything: bool) -> None:
    st.subheader(tr("Which candidates were dropped, and why", "どの候補がなぜ落とされたか"))
    names = [config.name for config in run.configs]
    pick, fates_column = st.columns([1, 2])
    index = pick.selectbox(
        tr("Setting", "設定"), range(len(names)), format_func=lambda i: names[i], key=f"why_table_setting_{run.run_id}"
    )
    funnel = funnels[index]
    present = [fate for fate in FATES if funnel.dropped_at(fate) or (fate == "kept" and funnel.kept)]
    chosen_fates = fates_column.multiselect(
        tr("Fates shown", "表示する結果"),
        present,
        default=[fate for fate in present if fate != "kept"],
        key=f"why_fates_{run.run_id}_{index}",
    )
    ids = np.flatnonzero(np.isin(funnel.fates, chosen_fates))
    # Reasons are written per row: keep the table across the fragment's reruns (row picks, typed ids).
    table = memo(("why_table", run.run_id, index, everything, tuple(chosen_fates)), lambda: funnel.table(ids))
    shown = table[["id", "fate", "reason", "predicted_iou", "stability_score", "area", "crop", "point_x", "point_y"]]
    # The selection is a set of candidate ids, not row positions: a table of other fates is another widget,
    # opened with the picked candidates it still shows selected, so a pick never lands on another candidate.
    picked: dict[tuple[int, int], list[int]] = store(WHY_SELECTION_KEY)
    remembered = picked.get((run.run_id, index), [])
    positions = {int(candidate): row for row, candidate in enumerate(table["id"])}
    table_key = f"why_table_{run.run_id}_{index}_{everything}_{abs(hash(tuple(chosen_fates))):x}"
    event = st.dataframe(
        shown,
        key=table_key,
        on_select="rerun",
        selection_mode="multi-row",
        selection_default={"selection": {"rows": [positions[c] for c in remembered if c in positions]}},
        hide_index=True,
        height=300,
        column_config=column_config(
            shown.columns,
            id=st.column_config.NumberColumn(
                tr("Candidate", "候補"),
                help=tr("`id`: the candidate's number in this run", "`id`: この実行での候補番号"),
            ),
        ),
    )
    rows = [int(r) for r in event.selection.rows] if event is not None else []
    selected = [int(table["id"].iloc[r]) for r in rows if 0 <= r < len(table)]
    picked[(run.run_id, index)] = selected
    typed = st.text_input(
        tr("Or show candidates by id", "または候補を番号で表示"),
        key=f"why_ids_{run.run_id}_{index}",
        placeholder=tr("e.g. 12, 40 (a suppressor named in a reason, say)", "例: 12, 40（理由に出てくる抑制元など）"),
    )
    typed_ids, problem = parse_ids(typed, len(funnel))
    if problem:
        st.warning(problem)
    selected = list(dict.fromkeys([*selected, *typed_ids]))[:MAX_SHOWN]
    if not selected:
        st.caption(
            tr(
                f"{len(table)} candidates shown. Select rows (shift/ctrl for several) to see their masks.",
                f"{len(table)} 個の候補を表示中。行を選ぶ（複数は shift / ctrl）とマスクを表示します。",
            )
        )
        return
    st.caption(
        tr(
            f"{len(table)} candidates shown, {len(selected)} picked.",
            f"{len(table)} 個の候補を表示中、{len(selected)} 個を選択。",
        )
    )
    candidates = candidates_for(model_loader(run.configs[index]), run, index, everything)
    picture, missing = candidates_picture(run.image, candidates, funnel, selected)
    left, right = st.columns([3, 2])
    left.image(
        jpeg(picture),
        width="stretch",
        caption=tr(
            "Selected candidates; white boxes: the masks that suppressed them",
            "選んだ候補。白い枠: それを抑制したマスク",
        ),
    )
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
                tr(
                    f"No mask for {', '.join(f'#{m}' for m in missing)}: never up-scaled. "
                    "Compute all candidates above to see them.",
                    f"{', '.join(f'#{m}' for m in missing)} にはマスクがありません（拡大されていません）。"
                    "上で全候補を計算すると表示できます。",
                )
            )


def parse_ids(text: str, count: int) -> tuple[list[int], str | None]:
    """Candidate ids typed as "12, 40 7"; the ids that exist, and a message about the rest."""
    ids, bad = [], []
    for part in text.replace(",", " ").split():
        if part.lstrip("#").isdigit() and int(part.lstrip("#")) < count:
            ids.append(int(part.lstrip("#")))
        else:
            bad.append(part)
    problem = (
        tr(
            f"No candidate {', '.join(bad)}: ids run from 0 to {count - 1}.",
            f"候補 {', '.join(bad)} はありません。番号は 0 から {count - 1} です。",
        )
        if bad
        else None
    )
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
    start = a.number_input(
        tr(f"{label}: from", f"{label}: 最小"), value=float(defaults[0]), step=step, key=f"{key}_start"
    )
    stop = b.number_input(tr(f"{label}: to", f"{label}: 最大"), value=float(defaults[1]), step=step, key=f"{key}_stop")
    count = c.number_input(
        tr(f"{label}: values", f"{label}: 値の数"),
        value=int(defaults[2]),
        min_value=1,
        max_value=25,
        key=f"{key}_count",
    )
    return SweepAxis.linspace(parameter, start, stop, int(count))


@st.fragment
def sweep_section(model_loader: Any, run: ComparisonRun) -> None:
    st.subheader(tr("Sweep the thresholds", "しきい値のスイープ"))
    st.caption(
        tr(
            "Every cell filters the cached candidates of one setting with other thresholds, exactly as the official "
            "generator would: its count equals a full generator run with that setting, without the network.",
            "各セルは 1 つの設定のキャッシュ済み候補を別のしきい値で、公式の生成器とまったく同じようにフィルタします。"
            "その数は、その設定で生成器を最初から実行した結果と一致します（ネットワーク計算なし）。",
        )
    )
    names = [config.name for config in run.configs]
    index = st.selectbox(
        tr("Base setting", "基準の設定"), range(len(names)), format_func=lambda i: names[i], key="sweep_base"
    )
    base = run.configs[index]
    height, width = run.image.shape[:2]
    area_stop = max(100, round(0.002 * height * width))
    try:
        with st.expander(tr("Ranges", "範囲"), expanded=False):
            iou_axis = _axis_inputs("pred_iou_thresh", "pred_iou_thresh", DEFAULT_PRED_IOU, "sweep_iou")
            stability_axis = _axis_inputs(
                "stability_score_thresh", "stability_score_thresh", DEFAULT_STABILITY, "sweep_stability"
            )
            nms_axis = _axis_inputs("box_nms_thresh", "box_nms_thresh", DEFAULT_BOX_NMS, "sweep_nms")
            area_axis = _axis_inputs("min_mask_region_area", "min_mask_region_area", (0, area_stop, 9), "sweep_area")
    except SweepError as error:
        st.error(tr(f"{error}. Fix the range to sweep.", f"{error}。範囲を直してください。"), icon=":material/error:")
        return
    # The grid also holds the values of the run's settings that share the base's plan, so they have cells.
    image_size = (int(height), int(width))
    related = [c for c in run.configs if plan_crops(c, image_size) == plan_crops(base, image_size)]
    iou_axis = iou_axis.including([c.pred_iou_thresh for c in related])
    stability_axis = stability_axis.including([c.stability_score_thresh for c in related])
    nms_axis = nms_axis.including([base.box_nms_thresh])
    area_axis = area_axis.including([base.min_mask_region_area])
    axes_key = (iou_axis, stability_axis, nms_axis, area_axis)
    sweeps: dict[tuple[int, int], SweepOutcome] = store(SWEEPS_KEY)
    outcome = sweeps.get((run.run_id, index))
    floor = sweep_floor(base, [iou_axis])
    label = (
        tr("Run the sweep", "スイープを実行")
        if outcome is None
        else tr("Sweep again with these ranges", "この範囲でもう一度スイープ")
    )
    if st.button(label, key="sweep_button", type="primary" if outcome is None else "secondary"):
        outcome = _run_sweep(model_loader(base), run, base, axes_key, floor)
        sweeps[(run.run_id, index)] = outcome
    if outcome is None:
        cells = len(iou_axis.values) * len(stability_axis.values)
        st.caption(
            tr(
                f"{cells} cells, plus {len(nms_axis.values)} box NMS and {len(area_axis.values)} area values.",
                f"{cells} セル、加えてボックス NMS {len(nms_axis.values)} 値と面積 {len(area_axis.values)} 値。",
            )
        )
        return
    if outcome.axes_key != axes_key:
        st.caption(
            tr(
                "The ranges changed since this sweep; press the button to sweep them.",
                "このスイープの後に範囲が変わりました。ボタンを押すと新しい範囲でスイープします。",
            )
        )
    _show_sweep(run, index, outcome)


def _run_sweep(model: Sam, run: ComparisonRun, base: AmgConfig, axes: tuple[SweepAxis, ...], floor: float | None):
    iou_axis, stability_axis, nms_axis, area_axis = axes
    bar = st.progress(0.0, text=tr("fetching the candidates", "候補を取得中"))

    def on_progress(progress: Progress) -> None:
        bar.progress(0.5 * progress.fraction, text=describe_progress(progress))

    tick = time.perf_counter()
    candidates = setting_candidates(
        model, run.image, base, floor=floor, cache=shared_comparison_cache(), progress=on_progress
    )
    total = len(iou_axis.values) * len(stability_axis.values) + len(nms_axis.values) + len(area_axis.values)
    done = [0]

    def on_cell(_: int, __: int) -> None:
        done[0] += 1
        if done[0] % 5 == 0 or done[0] == total:
            bar.progress(
                0.5 + 0.5 * done[0] / total, text=tr(f"cell {done[0]} of {total}", f"セル {done[0]} / {total}")
            )

    grid = sweep(candidates, [iou_axis, stability_axis], base, on_cell)
    curves = tuple(sweep(candidates, [axis], base, on_cell) for axis in (nms_axis, area_axis))
    seconds = time.perf_counter() - tick
    bar.progress(1.0, text=tr(f"{total} cells in {seconds:.2f} s", f"{total} セルを {seconds:.2f} 秒で計算"))
    return SweepOutcome(grid, curves, axes)


def _picked_cell(event: Any, key: str) -> tuple[float, float] | None:
    """The cell a click on the heatmap picked, once per click (a kept selection is not a new click)."""
    points = event.selection.points if event is not None else []
    point = next((p for p in points if "x" in p and "y" in p), None)
    clicked = None if point is None else (float(point["x"]), float(point["y"]))
    seen = store(WHY_SELECTION_KEY)
    if clicked is None or seen.get((key, "click")) == clicked:
        seen[(key, "click")] = clicked
        return None
    seen[(key, "click")] = clicked
    return clicked


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
        tr("Cells show", "セルの値"),
        ["masks", "coverage_pct"],
        default="masks",
        key="sweep_value",
        format_func={value: _value_label(value) for value in ("masks", "coverage_pct")}.__getitem__,
    )
    value = value or "masks"
    lang = language()
    x_values = [float(v) for v in grid.axes[0].values]
    y_values = [float(v) for v in grid.axes[1].values]
    heatmap_key = f"sweep_heatmap_{run.run_id}_{index}"
    figure = memo(
        ("sweep_heatmap", run.run_id, index, outcome.axes_key, value, lang),
        lambda: sweep_heatmap(grid, value, markers, language=lang),
    )
    event = st.plotly_chart(figure, key=heatmap_key, on_select="rerun", selection_mode="points")
    clicked = _picked_cell(event, heatmap_key)
    if clicked is not None:
        st.session_state[SWEEP_PICK_IOU_KEY] = _nearest(x_values, clicked[0])
        st.session_state[SWEEP_PICK_STABILITY_KEY] = _nearest(y_values, clicked[1])
    st.caption(
        tr(
            f"Squares: the run's settings with this plan and these NMS and area values. {len(grid.frame)} cells "
            f"filtered in {grid.seconds:.2f} s from {grid.candidates} candidates. Click a cell to pick it.",
            f"枠: この計画と NMS・面積の値をもつ実行中の設定。{grid.candidates} 候補から {len(grid.frame)} セルを "
            f"{grid.seconds:.2f} 秒でフィルタ。セルをクリックすると選べます。",
        )
    )
    pick_iou, pick_stability, cell_text, add_column = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
    if st.session_state.get(SWEEP_PICK_IOU_KEY) not in x_values:
        st.session_state[SWEEP_PICK_IOU_KEY] = _nearest(x_values, grid.base.pred_iou_thresh)
    if st.session_state.get(SWEEP_PICK_STABILITY_KEY) not in y_values:
        st.session_state[SWEEP_PICK_STABILITY_KEY] = _nearest(y_values, grid.base.stability_score_thresh)
    x = pick_iou.selectbox("pred_iou_thresh", x_values, key=SWEEP_PICK_IOU_KEY)
    y = pick_stability.selectbox("stability_score_thresh", y_values, key=SWEEP_PICK_STABILITY_KEY)
    row = int(
        np.flatnonzero(
            np.isclose(grid.frame["pred_iou_thresh"], x) & np.isclose(grid.frame["stability_score_thresh"], y)
        )[0]
    )
    cell = grid.frame.iloc[row]
    cell_text.markdown(
        tr(
            f"**{int(cell['masks'])} masks**, {cell['coverage_pct']:.1f} % covered",
            f"**マスク {int(cell['masks'])} 個**、被覆率 {cell['coverage_pct']:.1f} %",
        )
    )
    if add_column.button(tr("Add to the comparison", "比較に追加"), key=SWEEP_ADD_BUTTON, width="stretch"):
        config = grid.config_at(row)
        problem = add_setting(config, where=SWEEP_ADD_BUTTON)
        if problem:
            st.session_state[LAST_ADDED_KEY] = (SWEEP_ADD_BUTTON, None, problem)
    added_note(add_column, SWEEP_ADD_BUTTON)
    left, right = st.columns(2)
    for column, curve in zip((left, right), outcome.curves, strict=True):
        curve_figure = memo(
            ("sweep_curve", run.run_id, index, outcome.axes_key, curve.parameters, lang),
            lambda c=curve: sweep_curve(c, markers[:1], language=lang),
        )
        column.plotly_chart(curve_figure, key=f"sweep_curve_{curve.parameters[0]}_{run.run_id}")


def added_note(container: Any, where: str) -> None:
    """The note of the last Add pressed, right under that button (not below everything else)."""
    note = st.session_state.get(LAST_ADDED_KEY)
    if not note or note[0] != where:
        return
    if len(note) > 2:
        container.warning(note[2], icon=":material/warning:")
        return
    container.success(
        tr(
            f"Added “{note[1]}” to the Compare page: run it there.",
            f"「{note[1]}」を比較のページに追加しました。そこで実行してください。",
        ),
        icon=":material/check:",
    )
    container.page_link(
        "pages/compare.py", label=tr("Go to Compare settings", "設定の比較へ"), icon=":material/compare:"
    )


def _value_label(value: str) -> str:
    return tr("masks kept", "残るマスク数") if value == "masks" else tr("coverage %", "被覆率 %")


def _nearest(values: list[float], target: float) -> float:
    return min(values, key=lambda v: abs(v - target))


def legend_markdown() -> str:
    fates = " · ".join(f"<span style='color:{colour}'>■</span> {fate}" for fate, colour in FATE_COLOURS.items())
    return tr(f"Fates: {fates}", f"候補の結果: {fates}")
