"""History: past comparisons from the store, reopened without the model, deleted, compared across images.

The store is opened per use (a connection costs a millisecond), so every session and the batch
CLI can write it at once. Finished runs are written by one background thread, in order, so a
threshold change never waits for SQLite; the History page waits for pending writes before it
lists. A store that cannot be written turns history off for the session with one warning; the
app goes on without it.
"""

from __future__ import annotations

import base64
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
from samcompare_app.state import (
    CONFIRM_DELETE_KEY,
    HISTORY_LIMIT_KEY,
    HISTORY_NOTICE_KEY,
    HISTORY_OFF_KEY,
    OPENED_KEY,
    RECORDER_KEY,
    current_run,
    language,
    set_current_run,
    tr,
)

PAGE_SIZE = 20
STORED_IDS_KEPT = 8
WRITE_WAIT_S = 30.0  # the History page waits at most this long for the session's pending writes
# A re-filter is written this long after it was made: by then the page has drawn it, and the write
# (statistics, packed masks, SQLite) no longer takes CPU from drawing it.
AUTOMATIC_WRITE_DELAY_S = 0.6


@dataclass
class SessionRecorder:
    """What one session last wrote to the store, shared with the writer thread (under its lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last: tuple[Any, ...] | None = None  # (stored run id, source, automatic, configs)
    error: str | None = None  # a store error met by the writer, not yet shown
    pending: int = 0
    idle: threading.Event = field(default_factory=threading.Event)
    stored: dict[int, int] = field(default_factory=dict)  # ComparisonRun.run_id -> stored run id, recent ones


def _write(recorder: SessionRecorder, run: ComparisonRun, automatic: bool) -> None:
    """Write `run`, unless it repeats the last one written; an automatic run replaces the automatic one before it.

    Dragging a threshold leaves one entry with its latest value, not one per step; pressing Run on
    settings an automatic re-filter has just stored keeps that entry (now the user's) and adds none.
    """
    source = (run.image_key, run.model_name, run.device)
    with recorder.lock:
        previous = recorder.last
    if previous is not None and previous[1] == source and previous[3] == run.configs:
        with recorder.lock:
            recorder.last = (previous[0], source, previous[2] and automatic, run.configs)
            _remember_stored(recorder, run.run_id, previous[0])
        return
    store = ResultStore()
    run_id = store.add_run(
        run.image, run.image_name, run.model_name, run.device, run.results, "app", run.seconds, run.labels or None
    )
    if automatic and previous is not None and previous[1] == source and previous[2]:
        store.delete_run(previous[0])
    with recorder.lock:
        recorder.last = (run_id, source, automatic, run.configs)
        _remember_stored(recorder, run.run_id, run_id)


def _remember_stored(recorder: SessionRecorder, comparison_id: int, stored_id: int) -> None:
    """Which stored run holds a comparison (so class names given later go with it); the last few only."""
    recorder.stored[comparison_id] = stored_id
    for old in list(recorder.stored)[:-STORED_IDS_KEPT]:
        del recorder.stored[old]


class _Writer:
    """One daemon thread per process that writes finished runs to the store in the order they came."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[tuple[SessionRecorder, ComparisonRun, bool]] = queue.Queue()
        threading.Thread(target=self._loop, name="samcompare-history-writer", daemon=True).start()

    def _loop(self) -> None:
        while True:
            recorder, run, automatic = self.jobs.get()
            if automatic:
                time.sleep(AUTOMATIC_WRITE_DELAY_S)
            try:
                _write(recorder, run, automatic)
            except StoreError as error:
                with recorder.lock:
                    recorder.error = str(error)
            except Exception as error:  # noqa: BLE001 - a writer that dies would lose every later run
                with recorder.lock:
                    recorder.error = f"{type(error).__name__}: {error}"
            finally:
                with recorder.lock:
                    recorder.pending -= 1
                    if recorder.pending == 0:
                        recorder.idle.set()


@st.cache_resource(show_spinner=False)
def _writer() -> _Writer:
    return _Writer()


def _recorder() -> SessionRecorder:
    recorder: SessionRecorder = st.session_state.setdefault(RECORDER_KEY, SessionRecorder())
    return recorder


def history_off_message() -> str | None:
    return st.session_state.get(HISTORY_OFF_KEY)


def _turn_off(error: str) -> None:
    st.session_state[HISTORY_OFF_KEY] = error
    st.warning(
        tr(
            f"History is off for this session: {error}. Comparisons still run; they are just not kept. "
            "Point SAMCOMPARE_HOME at a writable folder to keep them.",
            f"このセッションでは履歴を記録しません: {error}。比較は実行できますが保存されません。"
            "保存するには SAMCOMPARE_HOME を書き込めるフォルダに設定してください。",
        ),
        icon=":material/history_toggle_off:",
    )


def _writer_error() -> str | None:
    recorder = _recorder()
    with recorder.lock:
        error, recorder.error = recorder.error, None
    return error


def open_store() -> ResultStore | None:
    """The store, or None (with the one warning) when it cannot be used."""
    error = _writer_error()
    if error is not None and history_off_message() is None:
        _turn_off(error)
    if history_off_message() is not None:
        return None
    try:
        return ResultStore()
    except StoreError as store_error:
        _turn_off(str(store_error))
        return None


def record_run(run: ComparisonRun, automatic: bool = False) -> None:
    """Keep a finished comparison in the store, written in the background; a store error warns once.

    An `automatic` run (the page's re-filter after a threshold change, not a press of Run) that
    follows another automatic one on the same image replaces its entry; a run equal to the last one
    written adds none.
    """
    if open_store() is None:  # an unwritable store is found at once (a millisecond), not by the writer later
        return
    recorder = _recorder()
    with recorder.lock:
        recorder.pending += 1
        recorder.idle.clear()
    _writer().jobs.put((recorder, run, automatic))


def wait_for_writes(timeout_s: float = WRITE_WAIT_S) -> bool:
    """Wait until this session's runs are in the store; False when they are still being written."""
    recorder = _recorder()
    with recorder.lock:
        if recorder.pending == 0:
            return True
    return recorder.idle.wait(timeout_s)


def save_labels(run: ComparisonRun, index: int, labels: MaskLabels) -> str | None:
    """Keep setting `index`'s class names with the stored run; None, or why they were not kept in History."""
    store = open_store()
    if store is None:
        return tr("History is off for this session", "このセッションでは履歴がオフです")
    if not wait_for_writes():
        return tr("History is still writing this run", "履歴はまだこの実行を書き込み中です")
    recorder = _recorder()
    with recorder.lock:
        stored_id = recorder.stored.get(run.run_id)
    if stored_id is None:
        return tr("this run is not in History", "この実行は履歴にありません")
    try:
        result_id = store.run_header(stored_id).settings[index].result_id
        store.set_labels(result_id, labels)
    except KeyError:
        return tr("this run was deleted from History", "この実行は履歴から削除されました")
    except StoreError as error:
        _turn_off(error)
        return str(error)
    return None


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def describe(header: RunHeader) -> str:
    return " · ".join(f"{setting.name}: {mask_count(setting.mask_count, language())}" for setting in header.settings)


def _open(run_id: int) -> None:
    store = open_store()
    if store is None:
        return
    try:
        run = restore_comparison(store.load_run(run_id))
    except KeyError:
        st.session_state[HISTORY_NOTICE_KEY] = tr(
            "That comparison was deleted meanwhile.", "その比較は削除されていました。"
        )
        return
    except StoreError as error:
        st.session_state[HISTORY_NOTICE_KEY] = tr(f"Cannot read that comparison: {error}", f"比較を読めません: {error}")
        return
    set_current_run(run)
    st.session_state[OPENED_KEY] = (run_id, run.run_id)
    recorder = _recorder()
    with recorder.lock:
        _remember_stored(recorder, run.run_id, run_id)


def _ask_delete(run_id: int) -> None:
    st.session_state[CONFIRM_DELETE_KEY] = run_id


def _cancel_delete() -> None:
    st.session_state.pop(CONFIRM_DELETE_KEY, None)


def _delete(run_id: int) -> None:
    st.session_state.pop(CONFIRM_DELETE_KEY, None)
    store = open_store()
    if store is None:
        return
    try:
        store.delete_run(run_id)
    except StoreError as error:
        st.session_state[HISTORY_NOTICE_KEY] = tr(f"Cannot delete: {error}", f"削除できません: {error}")
        return
    opened = st.session_state.get(OPENED_KEY)
    if opened is not None and opened[0] == run_id:
        st.session_state.pop(OPENED_KEY)
    st.session_state[HISTORY_NOTICE_KEY] = tr("The comparison was deleted.", "比較を削除しました。")


def opened_id() -> int | None:
    """The stored id of the run History opened, while it is still the session's current run."""
    opened = st.session_state.get(OPENED_KEY)
    run = current_run()
    if opened is None or run is None or run.run_id != opened[1]:
        return None
    return int(opened[0])


def opened_run() -> ComparisonRun | None:
    """The run History opened, while it is still the session's current run."""
    return current_run() if opened_id() is not None else None


def run_list(store: ResultStore) -> None:
    """Past comparisons, newest first: thumbnail, image, model, when, settings with their mask counts."""
    notice = st.session_state.pop(HISTORY_NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/info:")
    total = store.count_runs()
    if total == 0:
        st.info(
            tr(
                "No comparisons yet. Run one on the Compare page (or a batch from the command line) and it appears "
                "here.",
                "まだ比較がありません。比較のページで実行する（またはコマンドラインでバッチを実行する）とここに表示されます。",
            )
        )
        return
    limit = st.session_state.setdefault(HISTORY_LIMIT_KEY, PAGE_SIZE)
    headers = store.runs(limit=limit)
    st.caption(tr(f"{total} comparisons, newest first.", f"比較 {total} 件（新しい順）。"))
    opened = opened_id()
    confirming = st.session_state.get(CONFIRM_DELETE_KEY)
    for header in headers:
        is_open = header.run_id == opened
        with st.container(border=True, key=f"history_row_{header.run_id}"):
            picture, text, open_column, delete_column = st.columns([1, 6, 1, 1], vertical_alignment="center")
            picture.image(store.thumbnail_png(header.image_key), width=96)
            badge = tr(
                ":green-badge[:material/visibility: open above] ", ":green-badge[:material/visibility: 上に表示中] "
            )
            text.markdown(
                (badge if is_open else "")
                + tr(
                    f"**{header.image_name}** · {header.width} × {header.height} px · model {header.model} on "
                    f"{header.device} · {when(header.created_at)} · {header.source}",
                    f"**{header.image_name}** · {header.width} × {header.height} px · モデル {header.model}"
                    f"（{header.device}） · {when(header.created_at)} · {header.source}",
                )
            )
            text.caption(describe(header))
            open_column.button(
                tr("Opened", "表示中") if is_open else tr("Open", "開く"),
                key=f"history_open_{header.run_id}",
                on_click=_open,
                args=(header.run_id,),
                disabled=is_open,
                type="primary" if is_open else "secondary",
            )
            if confirming == header.run_id:
                delete_column.button(tr("Keep", "残す"), key=f"history_keep_{header.run_id}", on_click=_cancel_delete)
            else:
                delete_column.button(
                    tr("Delete", "削除"),
                    key=f"history_delete_{header.run_id}",
                    on_click=_ask_delete,
                    args=(header.run_id,),
                )
            if confirming == header.run_id:
                warn, yes = st.columns([6, 2], vertical_alignment="center")
                warn.warning(
                    tr(
                        "Delete this comparison from the store for good? Its masks cannot be brought back.",
                        "この比較を保存先から完全に削除しますか？ マスクは元に戻せません。",
                    ),
                    icon=":material/delete:",
                )
                yes.button(
                    tr("Yes, delete it", "削除する"),
                    key=f"history_confirm_{header.run_id}",
                    on_click=_delete,
                    args=(header.run_id,),
                    type="primary",
                    width="stretch",
                )
    more = min(PAGE_SIZE, total - len(headers))
    if more > 0 and st.button(tr(f"Show {more} more", f"さらに {more} 件表示"), key="history_more"):
        st.session_state[HISTORY_LIMIT_KEY] = limit + PAGE_SIZE
        st.rerun()


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


VALUE_LABELS_JA = {
    "masks": "マスク数",
    "coverage %": "被覆率 %",
    "mean predicted IoU": "予測 IoU の平均",
    "mean stability score": "安定度スコアの平均",
    "median mask area": "マスク面積の中央値",
    "seconds": "秒",
    "F1 at IoU 0.5 (with ground truth)": "IoU 0.5 での F1（正解データあり）",
    "AP (with ground truth)": "AP（正解データあり）",
}


def value_label(name: str) -> str:
    return tr(name, VALUE_LABELS_JA.get(name, name))


def settings_across_images(store: ResultStore) -> None:
    """Pick settings (and a model); one row per image with the chosen number for each setting."""
    all_results = store.results_table()
    if all_results.empty:
        st.info(tr("Nothing stored yet.", "まだ何も保存されていません。"))
        return
    models = sorted(all_results["model"].unique())
    left, right = st.columns(2)
    model = left.selectbox(tr("Model", "モデル"), models, key="across_model")
    value_labels = {name: value_label(name) for name in VALUES}  # labels fixed now: format_func may run later
    value_name = right.selectbox(
        tr("Show", "表示する値"), list(VALUES), key="across_value", format_func=value_labels.__getitem__
    )
    results = all_results[all_results["model"] == model]
    choices = setting_choices(results)
    labels = dict(zip(choices["parameters_key"], choices["label"], strict=True))
    images = dict(zip(choices["parameters_key"], choices["images"], strict=True))
    setting_labels = {
        key: tr(f"{labels[key]}: {int(images[key])} images", f"{labels[key]}: {int(images[key])} 枚") for key in labels
    }
    # The settings on a row of their own, full width: a chip holds a long setting label unclipped.
    keys = st.multiselect(
        tr("Settings", "設定"),
        list(labels),
        default=list(labels)[:2],
        format_func=setting_labels.__getitem__,
        key="across_settings",
        help=tr(
            "A setting is its parameters: the same parameters under another name are the same setting.",
            "設定はパラメータで決まります。名前が違っても同じパラメータなら同じ設定です。",
        ),
    )
    if not keys:
        st.caption(tr("Choose one or more settings.", "設定を 1 つ以上選んでください。"))
        return
    table = across_images(results, keys, VALUES[value_name])
    table.insert(0, "thumbnail", [_data_url(store.thumbnail_png(key)) for key in table["image_key"]])
    st.dataframe(
        table.drop(columns=["image_key"]),
        hide_index=True,
        key="across_table",
        column_config={
            "thumbnail": st.column_config.ImageColumn("", width="small"),
            "image": st.column_config.Column(tr("Image", "画像")),
        },
    )
    st.caption(
        tr(
            f"{value_name} per image; each image's latest run with each setting. Empty: never run with it.",
            f"画像ごとの{value_label(value_name)}（各設定で最後に実行した結果）。空欄: その設定では未実行。",
        )
    )
    paired_verdicts(results, keys)


def markdown_text(text: str) -> str:
    """`text` with Markdown's special characters escaped: setting labels are full of underscores."""
    return "".join(f"\\{c}" if c in "\\`*_{}[]<>()#+-.!|~$" else c for c in text)


def paired_verdicts(results: pd.DataFrame, keys: list[str]) -> None:
    """Each chosen setting against the first chosen one, in words, where both have F1 against ground truth."""
    comparisons = [c for c in paired_across_images(results, keys, "f1_50") if c.images]
    if not comparisons:
        return
    st.markdown(
        tr(
            "**Each setting against the first one chosen, image by image** (F1 at IoU 0.5):",
            "**最初に選んだ設定と各設定の比較（画像ごと）**（IoU 0.5 での F1）:",
        )
    )
    st.markdown("\n".join(f"- {markdown_text(comparison.verdict())}" for comparison in comparisons))
    st.caption(
        tr(
            "On the images where both settings have ground-truth metrics: the mean difference with a seeded 95% "
            "bootstrap interval, and the p-value of Wilcoxon's signed-rank test (tied images left out).",
            "両方の設定に正解データでの指標がある画像について: 差の平均とシード固定の 95% ブートストラップ区間、"
            "Wilcoxon の符号順位検定の p 値（同点の画像は除く）。",
        )
    )
