"""History page: past comparisons from the store, reopened without recomputing, deleted, compared across images."""

from __future__ import annotations

import streamlit as st

from samcompare_app.history import open_store, opened_run, run_list, settings_across_images
from samcompare_app.results_view import show_results

st.title("History")
store = open_store()
if store is None:
    st.stop()
st.caption(f"Every finished comparison is kept in `{store.path}` (set SAMCOMPARE_HOME to keep it elsewhere).")

run = opened_run()
if run is not None:
    show_results(run, stale=False)
    st.divider()

past, across = st.tabs(["Past comparisons", "Settings across images"])
with past:
    run_list(store)
with across:
    settings_across_images(store)
