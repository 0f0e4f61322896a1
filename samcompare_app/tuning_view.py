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

RESULTS_KEY = "tune_results"  # (run_id, reference token) -> TuneResult
MESSAGE_KEY = "tune_message"
CHECKS_KEY = "tune_reproduced"  # (run_id, token, trial number) -> official value
OBJECTIVES = {
    "f1": "F1 at an IoU",
    "recall": "recall at a precision floor",
    "ap": "COCO AP@[.50:.95]",
    "agreement": "agreement with the marks",
}
POINT_CHOICES = (8, 16, 24, 32, 48, 64)
CROP_CHOICES = (0, 1, 2)


def _objective_inputs(has_truth: bool) -> Objective:
    kinds = ["f1", "recall", "ap"] if has_truth else ["agreement"]
    left, middle, right = st.columns(3)
    kind = left.selectbox("Objective", kinds, format_func=OBJECTIVES.__getitem__, key="tune_objective")
    iou = 0.5
    if kind != "ap":
        iou = middle.number_input("Match at mask IoU ≥", 0.05, 1.0, 0.5, 0.05, key="tune_iou")
    floor = 0.0
    if kind == "recall":
        floor = right.number_input("Precision at least", 0.0, 1.0, 0.8, 0.05, key="tune_min_precision")
    return Objective(kind, float(iou), float(floor))


def _space_inputs(run: ComparisonRun, base: AmgConfig) -> SearchSpace:
    with st.expander("Search space", expanded=False):
        st.caption(
            "Thresholds, NMS and the minimum area are searched from the cached decode, without the network. "
            "The options below the line add decodes: their time is shown and asked for first."
        )
        left, right = st.columns(2)
        iou = left.slider("pred_iou_thresh", 0.0, 1.0, (0.5, 1.0), 0.01, key="tune_space_iou")
        stability = right.slider("stability_score_thresh", 0.0, 1.0, (0.5, 1.0), 0.01, key="tune_space_stability")
        nms = left.slider("box_nms_thresh", 0.05, 1.0, (0.3, 1.0), 0.05, key="tune_space_nms")
        height, width = run.image.shape[:2]
        area_top = max(100, round(0.002 * height * width))
        area = right.slider(
            "min_mask_region_area (px)", 0, max(area_top * 5, 500), (0, area_top), key="tune_space_area"
        )
        st.divider()
        offsets = st.checkbox(
            "Also search stability_score_offset (0.5, 1, 2): one decoder pass per plan",
            key="tune_space_offsets",
        )
        left, right = st.columns(2)
        points = left.multiselect(
            "points_per_side (each value a decode)",
            sorted({*POINT_CHOICES, base.points_per_side or 32}),
            default=[],
            key="tune_space_points",
        )
        layers = right.multiselect(
            "crop_n_layers (each value a decode)", CROP_CHOICES, default=[], key="tune_space_layers"
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
        st.info("Auto-tune needs ground truth for this image, or marked masks.", icon=":material/info:")
        return
    reference_token = token if truth is not None else f"marks:{len(marks.good)}:{len(marks.bad)}"
    st.caption(
        "Optuna (TPE, seeded) proposes settings; each is filtered from the cached candidates exactly as the "
        "official generator would and scored against the "
        + ("ground truth." if truth is not None else "marked masks.")
        + " A setting tuned on one image may not carry over: tune over many images, some held out, on the "
        "Tune over a dataset page (or `python -m samcompare tune FOLDER --gt-dir GTDIR`) before you trust it."
    )
    names = [config.name for config in run.configs]
    objective = _objective_inputs(truth is not None)
    left, middle, right = st.columns(3)
    index = left.selectbox("Start from", range(len(names)), format_func=lambda i: names[i], key="tune_base")
    trials = middle.number_input("Trials", 5, 2000, 100, 5, key="tune_trials")
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, 1, key="tune_seed")
    base = run.configs[index]
    try:
        space = _space_inputs(run, base)
    except ConfigError as error:
        st.error(f"{error}. Fix the search space to run.", icon=":material/error:")
        return
    estimate = estimate_run(
        model_type_of(run.model_name),
        run.device,
        run.image.shape,
        planned_work(base, space),
        already_run=run.configs,
    )
    confirmed = True
    if not estimate.network_free:
        st.warning(f"This search decodes new work first: {estimate.describe()}.", icon=":material/schedule:")
        confirmed = st.checkbox("Yes, decode it", key="tune_confirm")
    if st.button("Search", type="primary", key="tune_button", disabled=not confirmed):
        result = _run_search(run, reference, objective, base, space, int(trials), int(seed))
        if result is not None:
            st.session_state.setdefault(RESULTS_KEY, {})[(run.run_id, reference_token)] = result
    result = st.session_state.get(RESULTS_KEY, {}).get((run.run_id, reference_token))
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
    try:
        model = cached_model(run.model_name, run.device)
    except ModelLoadError as error:
        st.error(f"Cannot load the model {run.model_name}: {error}", icon=":material/block:")
        return None
    bar = st.progress(0.0, text="fetching the candidates")

    def on_progress(progress: Progress) -> None:
        bar.progress(0.3 * progress.fraction, text=f"candidates: {progress.stage}")

    def on_trial(done: int, total: int, best: float) -> None:
        if done % 5 == 0 or done == total:
            bar.progress(0.3 + 0.7 * done / total, text=f"trial {done} of {total}, best {objective.name} {best:.3f}")

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
    bar.progress(1.0, text=f"{len(result.trials)} trials in {result.seconds:.1f} s")
    return result


def trials_figure(result: TuneResult) -> go.Figure:
    values = np.array([trial.value for trial in result.trials])
    figure = go.Figure()
    figure.add_trace(go.Scatter(y=values, mode="markers", name="trial", marker={"size": 6, "opacity": 0.6}))
    figure.add_trace(go.Scatter(y=np.maximum.accumulate(values), mode="lines", name="best so far"))
    figure.add_hline(y=result.base.value, line_dash="dash", annotation_text=f"start: {result.base.config.name}")
    figure.update_layout(
        title=f"{result.objective.describe()} per trial",
        xaxis_title="trial",
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
        f"**Best {result.objective.describe()}: {best[0].value:.3f}**, against {result.base.value:.3f} for "
        f"“{result.base.config.name}” ({gain:+.3f}); seed {result.seed}, {len(result.trials)} trials in "
        f"{result.seconds:.1f} s after {result.decode_seconds:.1f} s fetching candidates."
    )
    frame = result.best_frame(5)
    st.dataframe(frame, hide_index=True, key=f"tune_table_{run.run_id}")
    st.plotly_chart(trials_figure(result), key=f"tune_figure_{run.run_id}")
    checks: dict[tuple[Any, ...], float] = st.session_state.setdefault(CHECKS_KEY, {})
    for rank, trial in enumerate(best, 1):
        with st.expander(f"{rank}. {trial.config.name}: {result.objective.name} {trial.value:.3f}", expanded=rank == 1):
            add, check = st.columns(2)
            if add.button("Add to the comparison", key=f"tune_add_{run.run_id}_{trial.number}", width="stretch"):
                config = trial.config.replace(name=f"tuned {result.objective.name} #{trial.number}")
                problem = add_setting(config)
                st.session_state[MESSAGE_KEY] = problem or f"Added “{config.name}” to the Compare page: run it there."
            check_key = (run.run_id, token, trial.number)
            if check.button(
                "Check with the official generator", key=f"tune_check_{run.run_id}_{trial.number}", width="stretch"
            ):
                with st.spinner("Running SamAutomaticMaskGenerator with this setting…"):
                    model = cached_model(run.model_name, run.device)
                    checks[check_key] = reproduce(model, run.image, reference, result.objective, trial.config).value
            if check_key in checks:
                official = checks[check_key]
                same = abs(official - trial.value) < 1e-9
                (st.success if same else st.error)(
                    f"Official generator: {result.objective.name} {official:.4f}"
                    + (" (the same)." if same else f", not {trial.value:.4f}: please report this.")
                )
            left, right = st.columns(2)
            left.code(trial.config.to_json(), language="json")
            right.code(trial.config.to_code(), language="python")
    message = st.session_state.get(MESSAGE_KEY)
    if message:
        (st.success if message.startswith("Added") else st.warning)(message)
