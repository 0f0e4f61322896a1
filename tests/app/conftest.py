"""AppTest helpers: the dashboard driven in-process, with a coarse point grid so runs take a moment."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
TIMEOUT_S = 120
FAST_POINTS_PER_SIDE = 8


def setting_inputs(at: AppTest, field_name: str) -> list:
    return [widget for widget in at.number_input if widget.key and widget.key.endswith(f"_{field_name}")]


def make_fast(at: AppTest, **changes: float) -> AppTest:
    """Every setting at 8 points per side (and any other number fields given), then rerun."""
    for widget in setting_inputs(at, "points_per_side"):
        widget.set_value(FAST_POINTS_PER_SIDE)
    for field_name, value in changes.items():
        for widget in setting_inputs(at, field_name):
            widget.set_value(value)
    return at.run()


def run_button(at: AppTest):  # noqa: ANN201 - streamlit's Button element
    return at.button(key="run_button")


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
