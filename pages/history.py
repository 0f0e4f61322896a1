"""History page: past comparisons from the store, reopened without recomputing, deleted, compared across images."""

from __future__ import annotations

import streamlit as st

from samcompare_app.history import open_store, opened_run, run_list, settings_across_images, wait_for_writes
from samcompare_app.results_view import show_results
from samcompare_app.state import tr

st.title(tr("History", "履歴"))
store = open_store()
if store is None:
    st.stop()
st.caption(
    tr(
        f"Every finished comparison is kept in `{store.path}` (set SAMCOMPARE_HOME to keep it elsewhere).",
        f"終わった比較はすべて `{store.path}` に保存されます（別の場所にするには SAMCOMPARE_HOME を設定）。",
    )
)
if not wait_for_writes():
    st.caption(
        tr(
            "Your latest runs are still being written; they appear shortly.",
            "最新の実行はまだ書き込み中です。間もなく表示されます。",
        )
    )

run = opened_run()
if run is not None:
    show_results(run, stale=False)
    st.divider()

past, across = st.tabs([tr("Past comparisons", "過去の比較"), tr("Settings across images", "画像ごとの設定の比較")])
with past:
    run_list(store)
with across:
    settings_across_images(store)
