"""The Evaluate page's auto-tune section: pick an objective and a search space, search, add the best to the comparison.

The search runs in the core (`samcompare.tuning.tune`) on the run's cached candidates; this file
reads widgets, shows the price of any new decode and asks before paying it, draws the results.
Results are kept per run in session state (a small table of trials).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from samcompare.config import AmgConfig, ConfigError
from samcompare.engine import Progress
from samcompare.estimate import estimate_run
from samcompare.evaluation import GroundTruth, Marks
from samcompare.models import ModelLoadError
from samcompare.models.catalogue import model_type_of
from samcompare.tuning import Objective, SearchSpace, TuneResult, planned_work, reproduce, tune
from samcompare_app.comparison import ComparisonRun
from samcompare_app.resources import cached_model, shared_comparison_cache
from samcompare_app.settings_editor import add_setting
from samcompare_app.state import LAST_ADDED_KEY, TUNE_CHECKS_KEY, TUNE_RESULTS_KEY, store, tr
from samcompare_app.texts import column_config
from samcompare_app.why_view import added_note

OBJECTIVES = {
    "f1": ("F1 at an IoU", "ある IoU での F1"),
    "recall": ("recall at a precision floor", "適合率の下限つきの再現率"),
    "ap": ("COCO AP@[.50:.95]", "COCO AP@[.50:.95]"),
    "agreement": ("agreement with the marks", "印との一致度"),
}


def tuned_name(result: TuneResult, trial: Any) -> str:
    """The one name a tuned setting has everywhere: in the list, its JSON and code, and once added."""
    return f"tuned {result.objective.name} #{trial.number}"


def _objective_label(kind: str) -> str:
    english, japanese = OBJECTIVES[kind]
    return tr(english, japanese)


POINT_CHOICES = (8, 16, 24, 32, 48, 64)
CROP_CHOICES = (0, 1, 2)


def _objective_inputs(has_truth: bool) -> Objective:
    kinds = ["f1", "recall", "ap"] if has_truth else ["agreement"]
    left, middle, right = st.columns(3)
    labels = {kind: _objective_label(kind) for kind in kinds}  # fixed now: a format_func may run later
    kind = left.selectbox(tr("Objective", "目的"), kinds, format_func=labels.__getitem__, key="tune_objective")
    iou = 0.5
    if kind != "ap":
        iou = middle.number_input(
            tr("Match at mask IoU ≥", "一致とみなすマスク IoU ≥"), 0.05, 1.0, 0.5, 0.05, key="tune_iou"
        )
    floor = 0.0
    if kind == "recall":
        floor = right.number_input(
            tr("Precision at least", "適合率の下限"), 0.0, 1.0, 0.8, 0.05, key="tune_min_precision"
        )
    return Objective(kind, float(iou), float(floor))


def _space_inputs(run: ComparisonRun, base: AmgConfig) -> SearchSpace:
    with st.expander(tr("Search space", "探索範囲"), expanded=False):
        st.caption(
            tr(
                "Thresholds, NMS and the minimum area are searched from the cached decode, without the network. "
                "The options below the line add decodes: their time is shown and asked for first.",
                "しきい値・NMS・最小面積はキャッシュしたデコードから探索します（ネットワーク計算なし）。線より下の"
                "選択肢はデコードを追加するので、その時間を示して先に確認します。",
            )
        )
        left, right = st.columns(2)
        iou = left.slider("pred_iou_thresh", 0.0, 1.0, (0.5, 1.0), 0.01, key="tune_space_iou")
        stability = right.slider("stability_score_thresh", 0.0, 1.0, (0.5, 1.0), 0.01, key="tune_space_stability")
        nms = left.slider("box_nms_thresh", 0.05, 1.0, (0.3, 1.0), 0.05, key="tune_space_nms")
        height, width = run.image.shape[:2]
        area_top = max(100, round(0.002 * height * width))
        area = right.slider(
            tr("min_mask_region_area (px)", "min_mask_region_area（px）"),
            0,
            max(area_top * 5, 500),
            (0, area_top),
            key="tune_space_area",
        )
        st.divider()
        offsets = st.checkbox(
            tr(
                "Also search stability_score_offset (0.5, 1, 2): one decoder pass per plan",
                "stability_score_offset（0.5, 1, 2）も探索: 計画ごとにデコーダを 1 回追加",
            ),
            key="tune_space_offsets",
        )
        left, right = st.columns(2)
        points = left.multiselect(
            tr("points_per_side (each value a decode)", "points_per_side（値ごとにデコード 1 回）"),
            sorted({*POINT_CHOICES, base.points_per_side or 32}),
            default=[],
            key="tune_space_points",
        )
        layers = right.multiselect(
            tr("crop_n_layers (each value a decode)", "crop_n_layers（値ごとにデコード 1 回）"),
            CROP_CHOICES,
            default=[],
            key="tune_space_layers",
        )
    return SearchSpace(
        pred_iou_thresh=(float(iou[0]), float(iou[1])),
        stability_score_thresh=(float(stability[0]), float(stability[1])),
        box_nms_thresh=(float(nms[0]), float(nms[1])),
        min_mask_region_area=(int(area[0]), int(area[1])),
        stability_score_offsets=(0.5, 1.0, 2.0) if offsets else (),
        points_per_side=tuple(int(p) for p in points),
        crop_n_layers=tuple(int(c) for c in layers),
    )


def tune_section(run: ComparisonRun, truth: GroundTruth | None, token: str | None, marks: Marks) -> None:
    """Search the best setting for the run's image against its ground truth, or else its marks."""
    reference: GroundTruth | Marks | None = truth if truth is not None else (marks if len(marks) else None)
    if reference is None:
        st.info(
            tr(
                "Auto-tune needs ground truth for this image, or marked masks.",
                "自動調整には、この画像の正解データか印を付けたマスクが必要です。",
            ),
            icon=":material/info:",
        )
        return
    reference_token = token if truth is not None else f"marks:{len(marks.good)}:{len(marks.bad)}"
    st.caption(
        tr(
            "Optuna (TPE, seeded) proposes settings; each is filtered from the cached candidates exactly as the "
            "official generator would and scored against the "
            + ("ground truth." if truth is not None else "marked masks.")
            + " A setting tuned on one image may not carry over: tune over many images, some held out, on the "
            "Tune over a dataset page (or `python -m samcompare tune FOLDER --gt-dir GTDIR`) before you trust it.",
            "Optuna（TPE、シード固定）が設定を提案し、それぞれをキャッシュした候補から公式の生成器と同じように"
            "フィルタして、" + ("正解データ" if truth is not None else "印を付けたマスク") + "に対して採点します。"
            "1 枚の画像で調整した設定がほかの画像でも良いとは限りません。信頼する前に、「データセットで調整」"
            "ページ（または `python -m samcompare tune FOLDER --gt-dir GTDIR`）で、一部を検証用に残した多数の画像"
            "で調整してください。",
        )
    )
    names = [config.name for config in run.configs]
    objective = _objective_inputs(truth is not None)
    left, middle, right = st.columns(3)
    index = left.selectbox(
        tr("Start from", "開始する設定"), range(len(names)), format_func=lambda i: names[i], key="tune_base"
    )
    trials = middle.number_input(tr("Trials", "試行回数"), 5, 2000, 100, 5, key="tune_trials")
    seed = right.number_input(tr("Seed", "シード"), 0, 2**31 - 1, 0, 1, key="tune_seed")
    base = run.configs[index]
    try:
        space = _space_inputs(run, base)
    except ConfigError as error:
        st.error(
            tr(f"{error}. Fix the search space to run.", f"{error}。探索範囲を直してください。"),
            icon=":material/error:",
        )
        return
    estimate = estimate_run(
        model_type_of(base.model or run.model_name),
        run.device,
        run.image.shape,
        planned_work(base, space),
        already_run=[c for c in run.configs if (c.model or run.model_name) == (base.model or run.model_name)],
    )
    confirmed = True
    if not estimate.network_free:
        st.warning(
            tr(
                f"This search decodes new work first: {estimate.describe()}.",
                f"この探索では先に新しいデコードが必要です: {estimate.describe('ja')}。",
            ),
            icon=":material/schedule:",
        )
        confirmed = st.checkbox(tr("Yes, decode it", "デコードする"), key="tune_confirm")
    if st.button(tr("Search", "探索"), type="primary", key="tune_button", disabled=not confirmed):
        result = _run_search(run, reference, objective, base, space, int(trials), int(seed))
        if result is not None:
            store(TUNE_RESULTS_KEY)[(run.run_id, reference_token)] = result
    result = store(TUNE_RESULTS_KEY).get((run.run_id, reference_token))
    if result is not None:
        _show_result(run, reference, reference_token, result)


def _run_search(
    run: ComparisonRun,
    reference: GroundTruth | Marks,
    objective: Objective,
    base: AmgConfig,
    space: SearchSpace,
    trials: int,
    seed: int,
) -> TuneResult | None:
    name = base.model or run.model_name
    try:
        model = cached_model(name, run.device)
    except ModelLoadError as error:
        st.error(
            tr(f"Cannot load the model {name}: {error}", f"モデル {name} を読み込めません: {error}"),
            icon=":material/block:",
        )
        return None
    bar = st.progress(0.0, text=tr("fetching the candidates", "候補を取得中"))

    def on_progress(progress: Progress) -> None:
        bar.progress(0.3 * progress.fraction, text=tr(f"candidates: {progress.stage}", f"候補: {progress.stage}"))

    def on_trial(done: int, total: int, best: float) -> None:
        if done % 5 == 0 or done == total:
            bar.progress(
                0.3 + 0.7 * done / total,
                text=tr(
                    f"trial {done} of {total}, best {objective.name} {best:.3f}",
                    f"試行 {done} / {total}、最良の {objective.name} {best:.3f}",
                ),
            )

    try:
        result = tune(
            model,
            run.image,
            reference,
            objective,
            base,
            space,
            trials,
            seed,
            shared_comparison_cache(),
            on_progress,
            on_trial,
        )
    except ConfigError as error:
        bar.empty()
        st.error(str(error), icon=":material/error:")
        return None
    bar.progress(
        1.0,
        text=tr(
            f"{len(result.trials)} trials in {result.seconds:.1f} s",
            f"{len(result.trials)} 試行を {result.seconds:.1f} 秒で実行",
        ),
    )
    return result


def trials_figure(result: TuneResult) -> go.Figure:
    values = np.array([trial.value for trial in result.trials])
    figure = go.Figure()
    figure.add_trace(go.Scatter(y=values, mode="markers", name=tr("trial", "試行"), marker={"size": 6, "opacity": 0.6}))
    figure.add_trace(
        go.Scatter(y=np.maximum.accumulate(values), mode="lines", name=tr("best so far", "それまでの最良"))
    )
    figure.add_hline(
        y=result.base.value,
        line_dash="dash",
        annotation_text=tr(f"start: {result.base.config.name}", f"開始: {result.base.config.name}"),
    )
    figure.update_layout(
        title=tr(f"{result.objective.describe()} per trial", f"試行ごとの {result.objective.describe()}"),
        xaxis_title=tr("trial", "試行"),
        yaxis_title=result.objective.name,
        height=320,
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0},
    )
    return figure


def _show_result(run: ComparisonRun, reference: GroundTruth | Marks, token: str, result: TuneResult) -> None:
    best = result.best(5)
    gain = best[0].value - result.base.value
    st.markdown(
        tr(
            f"**Best {result.objective.describe()}: {best[0].value:.3f}**, against {result.base.value:.3f} for "
            f"“{result.base.config.name}” ({gain:+.3f}); seed {result.seed}, {len(result.trials)} trials in "
            f"{result.seconds:.1f} s after {result.decode_seconds:.1f} s fetching candidates.",
            f"**最良の {result.objective.describe()}: {best[0].value:.3f}**（「{result.base.config.name}」は "
            f"{result.base.value:.3f}、差 {gain:+.3f}）。シード {result.seed}、"
            f"候補の取得 {result.decode_seconds:.1f} 秒の後に "
            f"{len(result.trials)} 試行を {result.seconds:.1f} 秒で実行。",
        )
    )
    frame = result.best_frame(5)
    names = {trial.config.name: tuned_name(result, trial) for trial in best}
    frame["setting"] = [names.get(name, name) for name in frame["setting"]]
    st.dataframe(frame, hide_index=True, key=f"tune_table_{run.run_id}", column_config=column_config(frame.columns))
    st.plotly_chart(trials_figure(result), key=f"tune_figure_{run.run_id}")
    checks: dict[tuple[Any, ...], float] = store(TUNE_CHECKS_KEY)
    for rank, trial in enumerate(best, 1):
        config = trial.config.replace(name=tuned_name(result, trial))
        with st.expander(f"{rank}. {config.name}: {result.objective.name} {trial.value:.3f}", expanded=rank == 1):
            add, check = st.columns(2)
            button = f"tune_add_{run.run_id}_{trial.number}"
            if add.button(tr("Add to the comparison", "比較に追加"), key=button, width="stretch"):
                problem = add_setting(config, where=button)
                if problem:
                    st.session_state[LAST_ADDED_KEY] = (button, None, problem)
            added_note(add, button)
            check_key = (run.run_id, token, trial.number)
            if check.button(
                tr("Check with the official generator", "公式の生成器で確認"),
                key=f"tune_check_{run.run_id}_{trial.number}",
                width="stretch",
            ):
                with st.spinner(
                    tr(
                        "Running SamAutomaticMaskGenerator with this setting…",
                        "この設定で SamAutomaticMaskGenerator を実行中…",
                    )
                ):
                    model = cached_model(trial.config.model or run.model_name, run.device)
                    checks[check_key] = reproduce(model, run.image, reference, result.objective, trial.config).value
            if check_key in checks:
                official = checks[check_key]
                same = abs(official - trial.value) < 1e-9
                (check.success if same else check.error)(
                    tr(
                        f"Official generator: {result.objective.name} {official:.4f}"
                        + (" (the same)." if same else f", not {trial.value:.4f}: please report this."),
                        f"公式の生成器: {result.objective.name} {official:.4f}"
                        + ("（同じ）。" if same else f"（{trial.value:.4f} ではありません。報告してください）。"),
                    )
                )
            left, right = st.columns(2)
            left.code(config.to_json(), language="json")
            right.code(config.to_code(), language="python")
