"""History: past comparisons from the store, reopened without the model, deleted, compared across images.

The store is opened per use (a connection costs a millisecond), so every session and the batch
CLI can write it at once. A store that cannot be written turns history off for the session with
one warning; the app goes on without it.
"""

from __future__ import annotations

import base64
from datetime import datetime

import pandas as pd
import streamlit as st

from samcompare.results import mask_count
from samcompare.results.labels import MaskLabels
from samcompare.store import (
    VALUES,
    ResultStore,
    RunHeader,
    StoreError,
    across_images,
    paired_across_images,
    setting_choices,
)
from samcompare_app.comparison import ComparisonRun, restore_comparison
from samcompare_app.results_view import RUN_KEY, current_run

HISTORY_OFF_KEY = "history_off"  # the message of the store error that turned history off for this session
OPENED_KEY = "history_opened"  # (stored run id, ComparisonRun.run_id) of the run History opened
LIMIT_KEY = "history_limit"
LAST_RECORDED_KEY = "history_last_recorded"  # (stored run id, image key, model, device, automatic)
STORED_RUN_KEY = "history_stored_run"  # (ComparisonRun.run_id, stored run id) of the current run, once stored
PAGE_SIZE = 20


def history_off_message() -> str | None:
    return st.session_state.get(HISTORY_OFF_KEY)


def _turn_off(error: StoreError) -> None:
    st.session_state[HISTORY_OFF_KEY] = str(error)
    st.warning(
        f"History is off for this session: {error}. Comparisons still run; they are just not kept. "
        "Point SAMCOMPARE_HOME at a writable folder to keep them.",
        icon=":material/history_toggle_off:",
    )


def open_store() -> ResultStore | None:
    """The store, or None (with the one warning) when it cannot be used."""
    if history_off_message() is not None:
        return None
    try:
        return ResultStore()
    except StoreError as error:
        _turn_off(error)
        return None


def record_run(run: ComparisonRun, automatic: bool = False) -> None:
    """Keep a finished comparison in the store; the first failure warns once and turns history off.

    An `automatic` run (the page's re-filter after a threshold change, not a press of Run) that follows
    another automatic one on the same image replaces its entry: dragging a threshold leaves one entry
    with its latest value, not one per step. Runs the user started stay.
    """
    if history_off_message() is not None:
        return
    source = (run.image_key, run.model_name, run.device)
    previous = st.session_state.get(LAST_RECORDED_KEY)
    try:
        store = ResultStore()
        run_id = store.add_run(
            run.image, run.image_name, run.model_name, run.device, run.results, "app", run.seconds, run.labels or None
        )
        if automatic and previous is not None and previous[1:] == (*source, True):
            store.delete_run(previous[0])
    except StoreError as error:
        _turn_off(error)
        return
    st.session_state[LAST_RECORDED_KEY] = (run_id, *source, automatic)
    st.session_state[STORED_RUN_KEY] = (run.run_id, run_id)


def save_labels(run: ComparisonRun, index: int, labels: MaskLabels) -> str | None:
    """Keep setting `index`'s class names with the stored run; None, or why they were not kept in History."""
    stored = st.session_state.get(STORED_RUN_KEY)
    if stored is None or stored[0] != run.run_id:
        return "this run is not in History (History is off, or the run was not stored)"
    store = open_store()
    if store is None:
        return "History is off for this session"
    try:
        result_id = store.run_header(stored[1]).settings[index].result_id
        store.set_labels(result_id, labels)
    except KeyError:
        return "this run was deleted from History"
    except StoreError as error:
        _turn_off(error)
        return str(error)
    return None


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def describe(header: RunHeader) -> str:
    return " · ".join(f"{setting.name}: {mask_count(setting.mask_count)}" for setting in header.settings)


def _open(run_id: int) -> None:
    store = open_store()
    if store is None:
        return
    try:
        run = restore_comparison(store.load_run(run_id))
    except KeyError:
        st.session_state["history_notice"] = "That comparison was deleted meanwhile."
        return
    except StoreError as error:
        st.session_state["history_notice"] = f"Cannot read that comparison: {error}"
        return
    st.session_state[RUN_KEY] = run
    st.session_state[OPENED_KEY] = (run_id, run.run_id)
    st.session_state[STORED_RUN_KEY] = (run.run_id, run_id)


def _delete(run_id: int) -> None:
    store = open_store()
    if store is None:
        return
    try:
        store.delete_run(run_id)
    except StoreError as error:
        st.session_state["history_notice"] = f"Cannot delete: {error}"
        return
    opened = st.session_state.get(OPENED_KEY)
    if opened is not None and opened[0] == run_id:
        st.session_state.pop(OPENED_KEY)


def opened_run() -> ComparisonRun | None:
    """The run History opened, while it is still the session's current run."""
    opened = st.session_state.get(OPENED_KEY)
    run = current_run()
    if opened is None or run is None or run.run_id != opened[1]:
        return None
    return run


def run_list(store: ResultStore) -> None:
    """Past comparisons, newest first: thumbnail, image, model, when, settings with their mask counts."""
    notice = st.session_state.pop("history_notice", None)
    if notice:
        st.warning(notice)
    total = store.count_runs()
    if total == 0:
        st.info(
            "No comparisons yet. Run one on the Compare page (or a batch from the command line) and it appears here."
        )
        return
    limit = st.session_state.setdefault(LIMIT_KEY, PAGE_SIZE)
    headers = store.runs(limit=limit)
    st.caption(f"{total} comparisons, newest first.")
    for header in headers:
        with st.container(border=True):
            picture, text, open_column, delete_column = st.columns([1, 6, 1, 1], vertical_alignment="center")
            picture.image(store.thumbnail(header.image_key), width=96)
            text.markdown(
                f"**{header.image_name}** · {header.width} × {header.height} px · model {header.model} on "
                f"{header.device} · {when(header.created_at)} · {header.source}"
            )
            text.caption(describe(header))
            open_column.button("Open", key=f"history_open_{header.run_id}", on_click=_open, args=(header.run_id,))
            delete_column.button(
                "Delete", key=f"history_delete_{header.run_id}", on_click=_delete, args=(header.run_id,)
            )
    more = min(PAGE_SIZE, total - len(headers))
    if more > 0 and st.button(f"Show {more} more", key="history_more"):
        st.session_state[LIMIT_KEY] = limit + PAGE_SIZE
        st.rerun()


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def settings_across_images(store: ResultStore) -> None:
    """Pick settings (and a model); one row per image with the chosen number for each setting."""
    all_results = store.results_table()
    if all_results.empty:
        st.info("Nothing stored yet.")
        return
    models = sorted(all_results["model"].unique())
    left, middle, right = st.columns([1, 3, 1])
    model = left.selectbox("Model", models, key="across_model")
    results = all_results[all_results["model"] == model]
    choices = setting_choices(results)
    labels = dict(zip(choices["parameters_key"], choices["label"], strict=True))
    keys = middle.multiselect(
        "Settings",
        list(labels),
        default=list(labels)[:2],
        format_func=lambda key: f"{labels[key]}: {int(choices.set_index('parameters_key').loc[key, 'images'])} images",
        key="across_settings",
        help="A setting is its parameters: the same parameters under another name are the same setting.",
    )
    value_name = right.selectbox("Show", list(VALUES), key="across_value")
    if not keys:
        st.caption("Choose one or more settings.")
        return
    table = across_images(results, keys, VALUES[value_name])
    table.insert(0, "thumbnail", [_data_url(store.thumbnail_png(key)) for key in table["image_key"]])
    st.dataframe(
        table.drop(columns=["image_key"]),
        hide_index=True,
        key="across_table",
        column_config={"thumbnail": st.column_config.ImageColumn("", width="small")},
    )
    st.caption(f"{value_name} per image; each image's latest run with each setting. Empty: never run with it.")
    paired_verdicts(results, keys)


def markdown_text(text: str) -> str:
    """`text` with Markdown's special characters escaped: setting labels are full of underscores."""
    return "".join(f"\\{c}" if c in "\\`*_{}[]<>()#+-.!|~$" else c for c in text)


def paired_verdicts(results: pd.DataFrame, keys: list[str]) -> None:
    """Each chosen setting against the first chosen one, in words, where both have F1 against ground truth."""
    comparisons = [c for c in paired_across_images(results, keys, "f1_50") if c.images]
    if not comparisons:
        return
    st.markdown("**Each setting against the first one chosen, image by image** (F1 at IoU 0.5):")
    st.markdown("\n".join(f"- {markdown_text(comparison.verdict())}" for comparison in comparisons))
    st.caption(
        "On the images where both settings have ground-truth metrics: the mean difference with a seeded 95% "
        "bootstrap interval, and the p-value of Wilcoxon's signed-rank test (tied images left out)."
    )
