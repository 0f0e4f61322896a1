"""Running a comparison from the compare page: progress, the estimate's calibration, and what Stop leaves.

When the user presses Streamlit's Stop, every `st.*` call of the script thread raises
`StopException` from then on (reading session state too), so the running status could never be
told that the run ended: it would keep its spinner and its frozen bar. `say_after_stop` hands the
last words (the status's final label, the notice kept for the next rerun) to a helper thread
carrying the script's context, which Streamlit still lets through, before the stop goes on. The
results drawn before the run began stay on the page; nothing of the stopped run is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from samcompare.engine import Progress
from samcompare.estimate import SpeedCalibration
from samcompare_app.state import tr

AFTER_STOP_TIMEOUT_S = 5.0


@st.cache_resource(show_spinner=False)
def speed_calibration() -> SpeedCalibration:
    """What the process has learnt about this machine's speed, shared by every session."""
    return SpeedCalibration()


def describe_progress(progress: Progress) -> str:
    if progress.stage == "done":
        return tr("done", "完了")
    if progress.n_crops > 1:
        where = tr(
            f"crop {progress.crop_index + 1}/{progress.n_crops}",
            f"クロップ {progress.crop_index + 1}/{progress.n_crops}",
        )
    else:
        where = tr("whole image", "画像全体")
    stage = {
        "embedding": tr("encoding the image", "画像をエンコード中"),
        "decoding": tr("decoding", "デコード中"),
        "filtering": tr("filtering", "フィルタ中"),
    }.get(progress.stage, progress.stage)
    batch = ""
    if progress.stage == "decoding":
        batch = tr(
            f", batch {progress.batch_index}/{progress.n_batches}",
            f"、バッチ {progress.batch_index}/{progress.n_batches}",
        )
    return f"{progress.config_name}: {stage} ({where}{batch})"


def stopped_message(last: Progress | None) -> str:
    """What the page says after Stop: how far the run got, and that nothing of it was kept."""
    kept = tr(
        "nothing was kept; the results below are the ones from before.",
        "何も保存していません。下の結果は以前のものです。",
    )
    if last is None:
        return tr(f"Stopped before the run began; {kept}", f"実行開始前に停止しました。{kept}")
    if last.stage == "decoding":
        where = tr(
            f"{last.config_name}, crop {last.crop_index + 1} of {last.n_crops}",
            f"{last.config_name}、クロップ {last.crop_index + 1}/{last.n_crops}",
        )
        if last.n_crops <= 1:
            where = tr(f"{last.config_name}, whole image", f"{last.config_name}、画像全体")
        return tr(
            f"Stopped after {last.batch_index} of {last.n_batches} batches ({where}); {kept}",
            f"{last.n_batches} バッチ中 {last.batch_index} バッチで停止しました（{where}）。{kept}",
        )
    return tr(
        f"Stopped while {describe_progress(last)}; {kept}", f"{describe_progress(last)} の途中で停止しました。{kept}"
    )


def say_after_stop(draw: Callable[[], None]) -> None:
    """Draw `draw`'s elements after Stop (from a thread with the script's context, which a stop does not block)."""
    context = get_script_run_ctx(suppress_warning=True)
    if context is None:
        return
    failures: list[BaseException] = []

    def target() -> None:
        try:
            draw()
        except Exception as error:  # noqa: BLE001 - the page is stopping anyway; never a traceback
            failures.append(error)

    thread = threading.Thread(target=target, name="samcompare-after-stop", daemon=True)
    add_script_run_ctx(thread, context)
    thread.start()
    thread.join(AFTER_STOP_TIMEOUT_S)
