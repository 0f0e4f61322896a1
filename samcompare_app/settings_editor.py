"""The settings of the compare page as rows of one table: one row per setting, one column per parameter.

One table holds up to six settings at any width (its name column stays pinned while the rest
scrolls), with no per-setting column of widgets to squeeze; a further column (the model, say)
is one more entry in `_columns`. Each row keeps what was typed, even a refused value, so nothing
is lost: the core's `ConfigError` names the field, and its message is listed under the table
while the setting's last valid version stays in use.

A setting made from a preset says so while it is one: once a value differs from its preset, a
line under the table lists what differs ("pred_iou_thresh 0.6 (0.88)") and, unless the user named
it, its name becomes "SAM default, edited", so that History never records an edited setting under
the preset's name.

The two score thresholds, what users move most, also have number inputs of their own under the
table, for one setting at a time: Streamlit's table sends a typed value 150 ms after the edit
(its debounce), a number input at once, so a threshold changed there shows its result sooner. Both
edit the same row: a quick change rebuilds the table with the new value.

A value typed in stays a pending edit of the table widget, whose data is left as it was (`shown`):
were the data to take the new value, Streamlit's editor would clear its own edit and rerun the page
a second time, and a new widget would redraw the whole grid. The table is rebuilt (a new widget
key) only when rows or other cells change: a preset, a copy, a removal, a new name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from samcompare.config import (
    BEYOND_OFFICIAL,
    OUTPUT_MODES,
    POST_FILTER_PARAMETERS,
    PRESETS,
    SAM2_ONLY_PARAMETERS,
    AmgConfig,
    ConfigError,
)
from samcompare.help_text import parameter_help, parameter_label
from samcompare.models.catalogue import family_name_of
from samcompare_app.settings_form import (
    DEFAULT_PRESETS,
    FIELDS,
    FLOAT_PARAMETERS,
    INTEGER_PARAMETERS,
    MAIN_PARAMETERS,
    MAX_SETTINGS,
    MORE_PARAMETERS,
    SWITCHES,
    config_to_form,
    form_to_config,
    preset_form,
    unique_name,
)
from samcompare_app.state import (
    ADD_PRESET_KEY,
    LAST_ADDED_KEY,
    NEXT_SLOT_KEY,
    QUICK_SETTING_KEY,
    SETTINGS_KEY,
    SETTINGS_TABLE_VERSION_KEY,
    TABLE_FRAME_KEY,
    selected_model,
    tr,
)

EDITED_SUFFIX = ", edited"
ACTION_COLUMNS = ("copy", "remove")
# Short headers for the six parameters always in view (the full name and help are in each header's
# tooltip), so that at 1400 px the name and all six fit beside each other without scrolling.
SHORT_LABELS = {
    "points_per_side": ("Points / side", "一辺の点数"),
    "pred_iou_thresh": ("IoU thresh.", "IoU しきい値"),
    "stability_score_thresh": ("Stability thresh.", "安定度しきい値"),
    "crop_n_layers": ("Crop layers", "クロップ層"),
    "crop_n_points_downscale_factor": ("Crop downscale", "クロップ縮小率"),
    "min_mask_region_area": ("Min area (px)", "最小面積 (px)"),
}
QUICK_PARAMETERS = ("pred_iou_thresh", "stability_score_thresh")
PARAMETER_WIDTH = 104  # px: six of these, the name and the two ticks fill a 1400 px window's table
NAME_WIDTH = 170
TICK_WIDTH = 62


@dataclass
class SettingRow:
    """One setting as the table holds it: the typed values, the last valid setting, where it came from."""

    slot: int
    form: dict[str, Any]
    valid: AmgConfig
    preset: str  # the preset it was made from (or last reset to)
    auto_name: str | None  # the name the app gave it, while the user has not typed one
    error: ConfigError | None = field(default=None)
    shown: dict[str, Any] = field(default_factory=dict)  # the values the current table widget was built from

    def preset_config(self) -> AmgConfig:
        return PRESETS[self.preset]

    def changes(self) -> dict[str, tuple[Any, Any]]:
        """Parameters whose typed value differs from the preset's: name -> (value, preset's value)."""
        preset = config_to_form(self.preset_config())
        return {
            name: (self.form.get(name), preset[name])
            for name in FIELDS
            if name not in ("name", "model") and not _same(self.form.get(name), preset[name])
        }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    if a in ("", None) and b in ("", None):
        return True
    return bool(a == b)


def rows() -> list[SettingRow]:
    kept: list[SettingRow] = st.session_state.setdefault(SETTINGS_KEY, [])
    return kept


def _names(exclude: SettingRow | None = None) -> list[str]:
    return [str(row.form.get("name", "")).strip() for row in rows() if row is not exclude]


def _bump() -> None:
    """A new table widget, built from the rows as they are now: its pending edits are folded in, or no longer apply."""
    st.session_state[SETTINGS_TABLE_VERSION_KEY] = int(st.session_state.get(SETTINGS_TABLE_VERSION_KEY, 0)) + 1
    for row in rows():
        row.shown = dict(row.form)


def table_key() -> str:
    return f"settings_table_{int(st.session_state.get(SETTINGS_TABLE_VERSION_KEY, 0))}"


def _new_row(form: dict[str, Any], preset: str, auto_name: str | None) -> SettingRow:
    slot = int(st.session_state.get(NEXT_SLOT_KEY, 0))
    st.session_state[NEXT_SLOT_KEY] = slot + 1
    row = SettingRow(slot, dict(form), form_to_config(form), preset, auto_name)
    rows().append(row)
    _bump()
    return row


def _preset_row(preset: str) -> SettingRow:
    form = preset_form(preset, _names())
    return _new_row(form, preset, str(form["name"]))


def ensure_rows() -> None:
    """Two settings on first visit: SAM's defaults against the article's high-precision setting."""
    if SETTINGS_KEY not in st.session_state:
        st.session_state[SETTINGS_KEY] = []
        for preset in DEFAULT_PRESETS:
            _preset_row(preset)


def current_configs() -> list[AmgConfig]:
    """The last valid version of every setting, in table order: what Run runs."""
    return [row.valid for row in rows()]


def add_setting(config: AmgConfig, where: str = "") -> str | None:
    """Add `config` as a new row (from another page); None, or why it was not added.

    `where` names the button that asked, so the page shows its note beside that button.
    """
    ensure_rows()
    if len(rows()) >= MAX_SETTINGS:
        return tr(
            f"the comparison already has {MAX_SETTINGS} settings; remove one first",
            f"比較にはすでに {MAX_SETTINGS} 個の設定があります。先に 1 つ削除してください",
        )
    form = config_to_form(config)
    form["name"] = unique_name(config.name, _names())
    preset = next(
        (name for name, preset in PRESETS.items() if preset.replace(name=config.name) == config), "SAM default"
    )
    _new_row(form, preset, None)
    st.session_state[LAST_ADDED_KEY] = (where, str(form["name"]))
    return None


# --- the table ----------------------------------------------------------------------------------------


def changes_text(row: SettingRow) -> str:
    """What an edited setting changed from its preset: "pred_iou_thresh 0.6 (0.88)", the preset's value in brackets."""
    return ", ".join(f"{name} {_short(value)} ({_short(preset)})" for name, (value, preset) in row.changes().items())


def _short(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def frame() -> pd.DataFrame:
    """The table widget's data: one row per setting, in order, as typed when the widget was built.

    Made once per table widget (the rows' `shown` values change only with a new one), not on
    every edit; the editor copies it before applying edits.
    """
    version = table_key()
    made = st.session_state.get(TABLE_FRAME_KEY)
    if made is None or made[0] != version:
        made = (version, _frame())
        st.session_state[TABLE_FRAME_KEY] = made
    return made[1]


def _frame() -> pd.DataFrame:
    records = []
    for row in rows():
        shown = row.shown or row.form
        record: dict[str, Any] = {"copy": False, "remove": False, "name": shown.get("name", "")}
        record["preset"] = row.preset
        record["model"] = shown.get("model", "")
        for name in (*MAIN_PARAMETERS, *MORE_PARAMETERS, *SAM2_ONLY_PARAMETERS, *POST_FILTER_PARAMETERS):
            record[name] = shown.get(name)
        records.append(record)
    table = pd.DataFrame(records, columns=list(column_order()))
    for name in (*INTEGER_PARAMETERS, "top_k"):
        table[name] = pd.array([_whole(v) for v in table[name]], dtype="Int64")
    for name in (*FLOAT_PARAMETERS, "mask_threshold"):
        table[name] = pd.array([_number(v) for v in table[name]], dtype="Float64")
    for name in SWITCHES:
        table[name] = table[name].fillna(False).astype(bool)
    for name in ("name", "model", "preset", "point_grids", "output_mode", "max_mask_region_area"):
        table[name] = table[name].astype("string")
    table.index = pd.RangeIndex(len(table))
    return table


def _whole(value: Any) -> Any:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return pd.NA
    try:
        number = float(value)
    except (TypeError, ValueError):
        return pd.NA
    return int(number) if number.is_integer() else pd.NA


def _number(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return pd.NA
    return pd.NA if math.isnan(number) else number


def column_order() -> tuple[str, ...]:
    return (
        "copy",
        "remove",
        "name",
        *MAIN_PARAMETERS,
        "model",
        "preset",
        *MORE_PARAMETERS,
        *SAM2_ONLY_PARAMETERS,
        *POST_FILTER_PARAMETERS,
    )


def _model_options() -> list[str]:
    """ "" (the sidebar's model), the models on disk, and any model a row names that is not (yet) there."""
    from samcompare_app.resources import model_choices

    named = [str(row.form.get("model") or "") for row in rows()]
    return list(dict.fromkeys(["", *model_choices(), *(name for name in named if name)]))


def _model_caption(name: str) -> str:
    from samcompare_app.texts import model_caption_text

    if not name:
        return tr(f"sidebar ({selected_model()})", f"サイドバー（{selected_model()}）")
    return model_caption_text(name)


def _columns(language: str) -> dict[str, Any]:
    """Each column's header, help and editor, in the session's language."""
    config: dict[str, Any] = {
        "copy": st.column_config.CheckboxColumn(
            tr("Copy", "複製"),
            help=tr("Tick to add a copy of this setting.", "チェックするとこの設定の複製を追加します。"),
            width=TICK_WIDTH,
            pinned=True,
        ),
        "remove": st.column_config.CheckboxColumn(
            tr("Remove", "削除"),
            help=tr("Tick to remove this setting.", "チェックするとこの設定を削除します。"),
            width=TICK_WIDTH,
            pinned=True,
        ),
        "name": st.column_config.TextColumn(
            tr("Setting name", "設定名"),
            help=tr(
                "Names tell the results apart, so each must be unique.", "結果を区別する名前です。重複できません。"
            ),
            width=NAME_WIDTH,
            pinned=True,
        ),
        "preset": st.column_config.SelectboxColumn(
            tr("Preset", "プリセット"),
            options=list(PRESETS),
            help=tr(
                "Choosing a preset resets this setting's parameters to it.",
                "プリセットを選ぶと、この設定のパラメータがそのプリセットの値に戻ります。",
            ),
            width="medium",
        ),
    }
    for name in (*MAIN_PARAMETERS, *MORE_PARAMETERS):
        full = parameter_label(name, language)
        short = SHORT_LABELS.get(name)
        label = (short[1] if language == "ja" else short[0]) if short else full
        width = PARAMETER_WIDTH if short else None
        help_text = f"**{full}** (`{name}`): {parameter_help(name, language)}"
        if name == "output_mode":
            config[name] = st.column_config.SelectboxColumn(label, options=list(OUTPUT_MODES), help=help_text)
        elif name == "point_grids":
            config[name] = st.column_config.TextColumn(label, help=help_text + tr(" (empty: none)", "（空欄: なし）"))
        elif name in FLOAT_PARAMETERS:
            config[name] = st.column_config.NumberColumn(label, help=help_text, step=0.01, format="%.4g", width=width)
        else:
            # Integers. No min/max on purpose: the core's validation message is clearer than a silent clamp.
            config[name] = st.column_config.NumberColumn(label, help=help_text, step=1, format="%d", width=width)
    config["model"] = st.column_config.SelectboxColumn(
        tr("Model", "モデル"),
        options=_model_options(),
        format_func=_model_caption,
        help=tr(
            "The model this setting runs on: the sidebar's, or one of its own, so that one comparison puts models "
            "side by side (SAM 2.1's own parameters need a SAM 2.1 model).",
            "この設定を実行するモデル。サイドバーのモデルか、設定ごとのモデルを選べるので、1 回の比較でモデル同士を"
            "並べられます（SAM 2.1 固有のパラメータには SAM 2.1 のモデルが必要です）。",
        ),
        width="medium",
    )
    sam2_only = tr(" SAM 2.1 only.", " SAM 2.1 のみ。")
    for name in SAM2_ONLY_PARAMETERS:
        label = parameter_label(name, language)
        help_text = f"**{label}** (`{name}`): {parameter_help(name, language)}{sam2_only}"
        if name == "mask_threshold":
            config[name] = st.column_config.NumberColumn(label, help=help_text, step=0.1, format="%.4g")
        else:
            config[name] = st.column_config.CheckboxColumn(label, help=help_text)
    beyond = tr(f" A post-filter, {BEYOND_OFFICIAL}.", f" 後処理フィルタ（{BEYOND_OFFICIAL}）。")
    for name in POST_FILTER_PARAMETERS:
        label = parameter_label(name, language)
        help_text = f"**{label}** (`{name}`): {parameter_help(name, language)}{beyond}"
        if name == "drop_border_masks":
            config[name] = st.column_config.CheckboxColumn(label, help=help_text)
        elif name == "top_k":
            config[name] = st.column_config.NumberColumn(
                label, help=help_text + tr(" (0 or empty: keep all)", "（0 か空欄: すべて残す）"), step=1, format="%d"
            )
        else:
            config[name] = st.column_config.TextColumn(
                label, help=help_text + tr(" (empty: none; e.g. 5000 or 40%)", "（空欄: なし。例: 5000、40%）")
            )
    return config


def _typed(name: str, value: Any) -> Any:
    """A cell's value as the form keeps it."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "" if name in ("name", "model", "point_grids", "max_mask_region_area") else None
    if name in SWITCHES:
        return bool(value)
    if name == "mask_threshold":
        return float(value)
    if name in (*INTEGER_PARAMETERS, "top_k"):
        number = float(value)
        return int(number) if number.is_integer() else number
    if name in FLOAT_PARAMETERS:
        return float(value)
    return str(value)


def _fold_edits() -> bool:
    """Fold the table's pending edits into the rows; True when the page must rerun to draw them.

    A value typed in is folded into its row every run (the widget keeps it as a pending edit, so
    folding it again changes nothing). A new preset, a copy or a removal changes other cells or
    rows: the rows change, the table is rebuilt and the page reruns.
    """
    state = st.session_state.get(table_key())
    if not state:
        return False
    current = rows()
    structural = False
    copies: list[SettingRow] = []
    removed: set[int] = set()
    for position_text, edits in (state.get("edited_rows") or {}).items():
        position = int(position_text)
        if not 0 <= position < len(current):
            continue
        row = current[position]
        for column, value in edits.items():
            if column == "preset":
                if value and value in PRESETS and value != row.preset:
                    row.preset = str(value)
                    row.form = preset_form(row.preset, _names(exclude=row))
                    row.auto_name = str(row.form["name"])
                    structural = True
            elif column == "copy":
                if value:
                    copies.append(row)
                    structural = True
            elif column == "remove":
                if value:
                    removed.add(row.slot)
                    structural = True
            elif column in FIELDS:
                typed = _typed(column, value)
                if column == "name" and typed != row.form.get("name"):
                    row.auto_name = None  # the user named it: never renamed again
                row.form[column] = typed
    for row in copies:
        if len(current) >= MAX_SETTINGS:
            break
        form = dict(row.form)
        try:
            form_to_config(form)
        except ConfigError:
            form = config_to_form(row.valid)  # copy what runs, not the refused value
        form["name"] = unique_name(f"{str(form['name']).strip()} copy", _names())
        _new_row(form, row.preset, None)
    if removed:
        kept = [row for row in current if row.slot not in removed]
        current[:] = kept if kept else current[:1]  # at least one setting stays
    if structural:
        _bump()
    return structural


def _name_edited_settings() -> None:
    """A preset's name on an edited setting would lie: it becomes "<preset>, edited" (and back when undone)."""
    for row in rows():
        if row.auto_name is None:
            continue
        base = row.auto_name.removesuffix(EDITED_SUFFIX)
        wanted = base + EDITED_SUFFIX if row.changes() else base
        if row.form.get("name") != wanted:
            row.form["name"] = wanted
            row.auto_name = wanted
            _bump()


def _validate() -> None:
    """Each row's config from its typed values; the last valid one stays in use while a value is refused."""
    sidebar = selected_model()
    for row in rows():
        try:
            config = form_to_config(row.form, _names(exclude=row))
            config.check_family(family_name_of(config.model or sidebar))  # SAM 2's own values on a SAM model
            row.valid = config
            row.error = None
        except ConfigError as error:
            row.error = error


def _add() -> None:
    if len(rows()) < MAX_SETTINGS:
        _preset_row(st.session_state.get(ADD_PRESET_KEY, "SAM default"))


def _quick_key(name: str) -> str:
    return f"quick_{name}"


def _quick_row() -> SettingRow:
    """The row the quick inputs edit: the one picked, or the first when that one is gone."""
    current = rows()
    picked = st.session_state.get(QUICK_SETTING_KEY)
    row = next((row for row in current if row.slot == picked), current[0])
    st.session_state[QUICK_SETTING_KEY] = row.slot
    return row


def _quick_changed(name: str) -> None:
    """A quick input's callback: the value goes into its row, and the table is rebuilt to show it."""
    row = _quick_row()
    value = st.session_state.get(_quick_key(name))
    row.form[name] = None if value is None else float(value)
    _bump()


def _quick_thresholds(language: str) -> None:
    """Number inputs for one setting's two thresholds, showing its typed values (also those typed in the table).

    No minimum or maximum, as in the table: a value out of range would be clamped silently, where the
    core's message under the table says what is wrong.
    """
    row = _quick_row()
    names = {other.slot: str(other.form.get("name") or f"#{place}") for place, other in enumerate(rows(), 1)}
    for name in QUICK_PARAMETERS:
        value = _number(row.form.get(name))
        value = None if value is pd.NA else value
        if st.session_state.get(_quick_key(name), "unset") != value:
            st.session_state[_quick_key(name)] = value  # before the widget exists in this run: allowed
    pick, *inputs = st.columns([2, 1, 1], vertical_alignment="bottom")
    pick.selectbox(
        tr("Thresholds of", "しきい値を変える設定"),
        list(names),
        format_func=names.__getitem__,
        key=QUICK_SETTING_KEY,
        help=tr(
            "The two thresholds of this setting, also in the table. A change here is sent at once (the table sends "
            "an edit 150 ms later), and a threshold-only change is re-filtered without a network pass.",
            "この設定の 2 つのしきい値（表と同じ値）。ここでの変更はすぐに送られ（表は編集の 150 ms 後）、"
            "しきい値だけの変更はネットワーク計算なしで再フィルタされます。",
        ),
    )
    for column, name in zip(inputs, QUICK_PARAMETERS, strict=True):
        short = SHORT_LABELS[name]
        column.number_input(
            tr(short[0], short[1]),
            step=0.01,
            format="%.4g",
            key=_quick_key(name),
            on_change=_quick_changed,
            args=(name,),
            help=f"**{parameter_label(name, language)}** (`{name}`): {parameter_help(name, language)}",
        )


def error_messages() -> list[str]:
    """One line per refused value: which setting, which field, why, and what is used meanwhile."""
    language_name = {name: parameter_label(name, "en") for name in FIELDS if name not in ("name", "model")}
    lines = []
    for position, row in enumerate(rows(), 1):
        if row.error is None:
            continue
        error = row.error
        name = str(row.form.get("name") or f"#{position}")
        where = "name" if error.field_name == "name" else error.field_name
        label = language_name.get(where, where)
        lines.append(
            tr(
                f"**{name}** · {label} (`{where}`): {error.message}. The last valid value is used until this is fixed.",
                f"**{name}** · {parameter_label(where, 'ja') if where in language_name else '設定名'} (`{where}`): "
                f"{error.message}。直すまでは最後の有効な値を使います。",
            )
        )
    return lines


def settings_editor(language: str) -> list[AmgConfig]:
    """The settings table and its add control; returns the settings Run would run."""
    ensure_rows()
    if _fold_edits():
        _validate()
        st.rerun()
    _name_edited_settings()
    _validate()
    head, preset_column, add_column = st.columns([3, 2, 1], vertical_alignment="bottom")
    head.subheader(
        tr(f"Settings ({len(rows())} of at most {MAX_SETTINGS})", f"設定（{len(rows())} / 最大 {MAX_SETTINGS}）")
    )
    preset_column.selectbox(tr("New setting from preset", "新しい設定のプリセット"), list(PRESETS), key=ADD_PRESET_KEY)
    add_column.button(
        tr("Add setting", "設定を追加"),
        on_click=_add,
        disabled=len(rows()) >= MAX_SETTINGS,
        width="stretch",
        key="add_setting",
    )
    st.data_editor(
        frame(),
        key=table_key(),
        hide_index=True,
        column_order=column_order(),
        column_config=_columns(language),
        num_rows="fixed",
        width="stretch",
    )
    st.caption(
        tr(
            "Edit a cell and press Enter. Scroll the table sideways for the other parameters; tick Copy or Remove "
            "to copy or remove a setting. A setting's two thresholds are also below, applied at once.",
            "セルを編集して Enter を押します。ほかのパラメータは表を横にスクロールすると出てきます。"
            "Copy / Remove（複製 / 削除）にチェックすると設定を複製・削除します。"
            "設定の 2 つのしきい値は下の入力欄でも変えられ、すぐに反映されます。",
        )
    )
    _quick_thresholds(language)
    edited = [row for row in rows() if row.changes()]
    if edited:
        st.caption(
            tr(
                "Changed from their presets (the preset's value in brackets): ",
                "プリセットから変えた値（括弧内はプリセットの値）: ",
            )
            + " · ".join(f"**{row.form.get('name')}** ({row.preset}): {changes_text(row)}" for row in edited)
        )
    for line in error_messages():
        st.error(line, icon=":material/error:")
    return current_configs()
