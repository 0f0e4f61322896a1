"""AppTest helpers: the dashboard driven in-process, with a coarse point grid so runs take a moment.

The settings are rows of one table (`st.data_editor`); AppTest edits it the way the browser
does, by giving the table widget its edit state (`edited_rows`) before a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from samcompare.config import AmgConfig

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
TIMEOUT_S = 120
FAST_POINTS_PER_SIDE = 8


def table_key(at: AppTest) -> str:
    return f"settings_table_{int(at.session_state['settings_table_version'])}"


def edit_settings(at: AppTest, edits: dict[int, dict[str, Any]]) -> AppTest:
    """Type `edits` ({row: {column: value}}) into the settings table, as a user would, then rerun.

    Like the browser's editor, the table's edit state holds every edit since the table was built.
    """
    key = table_key(at)
    state = at.session_state[key] if key in at.session_state else {}  # noqa: SIM401 - no .get on AppTest state
    pending = {int(row): dict(cells) for row, cells in (state.get("edited_rows") or {}).items()}
    for row, cells in edits.items():
        pending.setdefault(row, {}).update(cells)
    at.session_state[key] = {"edited_rows": pending, "added_rows": [], "deleted_rows": []}
    return at.run()


def setting_rows(at: AppTest) -> list:
    return list(at.session_state["settings_rows"])


def setting_names(at: AppTest) -> list[str]:
    return [str(row.form["name"]) for row in setting_rows(at)]


def valid_configs(at: AppTest) -> list[AmgConfig]:
    return [row.valid for row in setting_rows(at)]


def make_fast(at: AppTest, **changes: float) -> AppTest:
    """Every setting at 8 points per side (and any other number fields given), then rerun."""
    rows = range(len(setting_rows(at)))
    return edit_settings(at, {row: {"points_per_side": FAST_POINTS_PER_SIDE, **changes} for row in rows})


def run_button(at: AppTest):  # noqa: ANN201 - streamlit's Button element
    return at.button(key="run_button")


def texts(elements) -> str:  # noqa: ANN001 - an AppTest element list
    return "\n".join(str(element.value) for element in elements)


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def ran_app(app: AppTest) -> AppTest:
    """The default comparison, run once at 8 points per side with thresholds low enough to give masks."""
    make_fast(app, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    run_button(app).click().run()
    assert not app.exception, app.exception
    return app
