"""The Evaluate page in a real browser: after a run on a shape sample, its metrics against the scene's ground truth.

Every step waits for what it needs (the settings table, Streamlit's script state), never a fixed state: the
second setting's row is edited through the table once it is drawn, however busy the machine.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import edit_setting, screenshot_path, settings_table, wait_for_app, wait_until_idle

RUN_TIMEOUT_MS = 180_000

pytestmark = pytest.mark.e2e


def test_evaluate_page_shows_metrics_after_a_run(page, app_url: str) -> None:  # noqa: ANN001 - playwright Page
    page.goto(app_url)
    wait_for_app(page)
    settings_table(page).wait_for(timeout=60_000)
    # A small grid (the run takes seconds), and a second setting with looser thresholds to tell apart.
    for row in (0, 1):
        edit_setting(page, row, "points_per_side", "16")
    edit_setting(page, 1, "pred_iou_thresh", "0.5")
    edit_setting(page, 1, "stability_score_thresh", "0.5")
    edit_setting(page, 1, "name", "High precision, thresholds 0.5")
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page, RUN_TIMEOUT_MS)
    assert page.get_by_text("High precision, thresholds 0.5:").first.is_visible()

    page.get_by_role("link", name="Evaluate").click()
    page.get_by_role("heading", name="Metrics against the ground truth").wait_for(timeout=60_000)
    wait_until_idle(page, RUN_TIMEOUT_MS)
    page.set_viewport_size({"width": 1400, "height": 1900})  # charts are drawn once they are in view
    wait_until_idle(page)
    main = page.locator('[data-testid="stMain"]')
    main.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
    assert page.get_by_text("exact, from the sample scene").first.is_visible()
    assert main.locator('[data-testid="stDataFrame"]').count() >= 2  # metrics and a mask table
    assert main.locator('[data-testid="stPlotlyChart"]').count() == 1  # recall against the IoU threshold
    assert main.locator('[data-testid="stImage"]').count() >= 1  # the three-colour picture
    assert page.get_by_text("found objects").first.is_visible()
    assert page.get_by_text("outlines only").first.is_visible()  # false masks never cover what was found
    assert not page.locator('[data-testid="stException"]').count()
    page.screenshot(path=str(screenshot_path("evaluate.png")))
