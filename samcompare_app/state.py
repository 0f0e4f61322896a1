"""Session state of one browser session: the names of its keys and the choices shown on every page.

Streamlit forgets a widget's value when a page without that widget runs, so every choice that
must survive a page switch is also kept under a plain key (`remember`/`recall`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from samcompare_app.resources import device_name, model_caption, model_choices, model_description

LANGUAGE_KEY = "language_is_japanese"
MODEL_KEY = "model_name"
STORE_PREFIX = "kept:"


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
    return chosen if chosen in choices else choices[0]


def common_sidebar() -> None:
    """Model, device and help language: the choices every page shares."""
    choices = model_choices()
    restore_widget(MODEL_KEY, selected_model())
    if st.session_state[MODEL_KEY] not in choices:
        st.session_state[MODEL_KEY] = choices[0]
    with st.sidebar:
        model = st.selectbox(
            "Model",
            choices,
            key=MODEL_KEY,
            format_func=model_caption,
            help="Official checkpoints found in weights/ (see the Models page), and the demo model.",
        )
        remember(MODEL_KEY, model)
        st.caption(f"{model_description(model)}. Device: **{device_name()}**.")
        restore_widget(LANGUAGE_KEY, False)
        japanese = st.toggle("日本語のヘルプ (Japanese help)", key=LANGUAGE_KEY)
        remember(LANGUAGE_KEY, japanese)
