"""The setting columns of the compare page: one form per setting, validated in place.

Each form keeps what was typed, even a refused value, so nothing is lost; the core's `ConfigError`
names the field, and its message is shown right under that field while the setting's last valid
version stays in use.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from samcompare.config import BEYOND_OFFICIAL, OUTPUT_MODES, POST_FILTER_PARAMETERS, PRESETS, AmgConfig, ConfigError
from samcompare.help_text import parameter_help, parameter_label
from samcompare_app.settings_form import (
    DEFAULT_PRESETS,
    FIELDS,
    FLOAT_PARAMETERS,
    MAIN_PARAMETERS,
    MAX_SETTINGS,
    MORE_PARAMETERS,
    config_to_form,
    form_to_config,
    preset_form,
    unique_name,
)

SLOTS_KEY = "setting_slots"
NEXT_SLOT_KEY = "next_setting_slot"
ADD_PRESET_KEY = "add_setting_preset"


def widget_key(slot: int, field_name: str) -> str:
    return f"setting{slot}_{field_name}"


def _form_key(slot: int) -> str:
    return f"setting{slot}_form"


def _valid_key(slot: int) -> str:
    return f"setting{slot}_valid"


def _new_slot(form: dict[str, Any], preset: str) -> int:
    slot = int(st.session_state.get(NEXT_SLOT_KEY, 0))
    st.session_state[NEXT_SLOT_KEY] = slot + 1
    st.session_state[_form_key(slot)] = dict(form)
    st.session_state[_valid_key(slot)] = form_to_config(form)
    st.session_state[f"setting{slot}_preset_kept"] = preset
    for field_name, value in form.items():
        st.session_state[widget_key(slot, field_name)] = value
    st.session_state[widget_key(slot, "preset")] = preset
    st.session_state[SLOTS_KEY] = [*slots(), slot]
    return slot


def slots() -> list[int]:
    return list(st.session_state.get(SLOTS_KEY, []))


def ensure_slots() -> None:
    """Two settings on first visit: SAM's defaults against the article's high-precision setting."""
    if SLOTS_KEY not in st.session_state:
        st.session_state[SLOTS_KEY] = []
        for preset in DEFAULT_PRESETS:
            _new_slot(preset_form(preset, _names()), preset)


def _names(exclude: int | None = None) -> list[str]:
    names = []
    for slot in slots():
        if slot != exclude:
            names.append(str(st.session_state[_form_key(slot)].get("name", "")).strip())
    return names


def current_configs() -> list[AmgConfig]:
    """The last valid version of every setting, in column order: what Run runs."""
    return [st.session_state[_valid_key(slot)] for slot in slots()]


def add_setting(config: AmgConfig) -> str | None:
    """Add `config` as a new setting column (from another page or a callback); None, or why it was not added."""
    ensure_slots()
    if len(slots()) >= MAX_SETTINGS:
        return f"the comparison already has {MAX_SETTINGS} settings; remove one first"
    form = config_to_form(config)
    form["name"] = unique_name(config.name, _names())
    _new_slot(form, "SAM default")
    return None


# --- callbacks (run before the script, so they may set widget values) -------------------------------


def _apply_preset(slot: int) -> None:
    preset = st.session_state[widget_key(slot, "preset")]
    st.session_state[f"setting{slot}_preset_kept"] = preset
    form = preset_form(preset, _names(exclude=slot))
    st.session_state[_form_key(slot)] = form
    for field_name, value in form.items():
        st.session_state[widget_key(slot, field_name)] = value


def _duplicate(slot: int) -> None:
    if len(slots()) >= MAX_SETTINGS:
        return
    form = dict(st.session_state[_form_key(slot)])
    try:
        form_to_config(form)
    except ConfigError:
        form = config_to_form(st.session_state[_valid_key(slot)])  # copy what runs, not the refused value
    form["name"] = unique_name(f"{str(form['name']).strip()} copy", _names())
    _new_slot(form, st.session_state.get(f"setting{slot}_preset_kept", "SAM default"))


def _remove(slot: int) -> None:
    if len(slots()) <= 1:
        return
    st.session_state[SLOTS_KEY] = [s for s in slots() if s != slot]
    for key in [k for k in st.session_state if str(k).startswith(f"setting{slot}_")]:
        del st.session_state[key]


def _add() -> None:
    if len(slots()) >= MAX_SETTINGS:
        return
    preset = st.session_state.get(ADD_PRESET_KEY, "SAM default")
    _new_slot(preset_form(preset, _names()), preset)


# --- drawing ------------------------------------------------------------------------------------------


def _field(slot: int, field_name: str, language: str) -> Any:
    key = widget_key(slot, field_name)
    label = parameter_label(field_name, language)
    help_text = f"`{field_name}`: {parameter_help(field_name, language)}"
    if field_name == "output_mode":
        return st.selectbox(label, OUTPUT_MODES, key=key, help=help_text)
    if field_name == "point_grids":
        return st.text_area(
            label, key=key, help=help_text, placeholder="[[[0.25, 0.25], [0.75, 0.75]]]  (empty: none)", height=80
        )
    if field_name in FLOAT_PARAMETERS:
        step = 0.01
        return st.number_input(label, key=key, help=help_text, step=step, format="%.4g")
    if field_name == "max_mask_region_area":
        return st.text_input(label, key=key, help=help_text, placeholder="none; e.g. 5000 or 40%")
    if field_name == "drop_border_masks":
        return st.checkbox(label, key=key, help=help_text)
    # Integers. No min/max on purpose: the core's validation message is clearer than a silent clamp.
    return st.number_input(label, key=key, help=help_text, step=1)


def _validate(slot: int) -> ConfigError | None:
    """Read the form from its widgets; keep it, and the config too when it is valid."""
    form = {name: st.session_state.get(widget_key(slot, name)) for name in FIELDS}
    st.session_state[_form_key(slot)] = form
    try:
        config = form_to_config(form, _names(exclude=slot))
    except ConfigError as error:
        return error
    st.session_state[_valid_key(slot)] = config
    return None


def setting_column(slot: int, language: str) -> None:
    form = st.session_state[_form_key(slot)]
    for field_name in FIELDS:
        key = widget_key(slot, field_name)
        if key not in st.session_state:  # dropped by Streamlit after a page switch
            st.session_state[key] = form.get(field_name)
    preset_key = widget_key(slot, "preset")
    if preset_key not in st.session_state:
        st.session_state[preset_key] = st.session_state.get(f"setting{slot}_preset_kept", "SAM default")
    error = _validate(slot)

    def show_error(field_name: str) -> None:
        if error is not None and error.field_name == field_name:
            st.error(f"{error.message}. The last valid value is used until this is fixed.", icon=":material/error:")

    with st.container(border=True):
        name_column, preset_column = st.columns(2)
        with name_column:
            st.text_input("Setting name", key=widget_key(slot, "name"))
            show_error("name")
        preset_column.selectbox(
            "Start from preset",
            list(PRESETS),
            key=preset_key,
            on_change=_apply_preset,
            args=(slot,),
            help="Choosing a preset resets this setting's parameters to it.",
        )
        halves = st.columns(2)
        for position, field_name in enumerate(MAIN_PARAMETERS):
            with halves[position % 2]:
                _field(slot, field_name, language)
                show_error(field_name)
        more_error = error is not None and error.field_name in MORE_PARAMETERS
        with st.expander("More parameters", expanded=more_error):
            for field_name in MORE_PARAMETERS:
                _field(slot, field_name, language)
                show_error(field_name)
        active = st.session_state[_valid_key(slot)].post_filtered
        post_error = error is not None and error.field_name in POST_FILTER_PARAMETERS
        with st.expander(f"Post-filters, {BEYOND_OFFICIAL}", expanded=post_error or active):
            st.caption(
                "Not part of the official generator: applied to its output, in this order. Without them the "
                "masks are exactly SamAutomaticMaskGenerator's."
            )
            for field_name in POST_FILTER_PARAMETERS:
                _field(slot, field_name, language)
                show_error(field_name)
        if error is not None and error.field_name not in FIELDS:
            st.error(f"{error.field_name}: {error.message}", icon=":material/error:")
        left, right = st.columns(2)
        left.button(
            "Duplicate",
            key=widget_key(slot, "duplicate"),
            on_click=_duplicate,
            args=(slot,),
            disabled=len(slots()) >= MAX_SETTINGS,
            width="stretch",
        )
        right.button(
            "Remove",
            key=widget_key(slot, "remove"),
            on_click=_remove,
            args=(slot,),
            disabled=len(slots()) <= 1,
            width="stretch",
        )


def settings_editor(language: str) -> list[AmgConfig]:
    """All setting columns plus the add control; returns the settings Run would run."""
    ensure_slots()
    head, preset_column, add_column = st.columns([3, 2, 1], vertical_alignment="bottom")
    head.subheader(f"Settings ({len(slots())} of at most {MAX_SETTINGS})")
    preset_column.selectbox("New setting from preset", list(PRESETS), key=ADD_PRESET_KEY)
    add_column.button(
        "Add setting", on_click=_add, disabled=len(slots()) >= MAX_SETTINGS, width="stretch", key="add_setting"
    )
    current = slots()
    per_row = 3 if len(current) > 4 else max(len(current), 2)
    for start in range(0, len(current), per_row):
        columns = st.columns(per_row)
        for column, slot in zip(columns, current[start : start + per_row], strict=False):
            with column:
                setting_column(slot, language)
    return current_configs()
