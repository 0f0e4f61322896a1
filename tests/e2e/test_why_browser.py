"""The Why page in a real browser: after a comparison, funnels, histograms and a sweep heatmap are drawn."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, wait_for_app, wait_until_idle

SCREENSHOT = REPO_ROOT / "docs" / "why.png"
RUN_TIMEOUT_MS = 120_000

pytestmark = pytest.mark.e2e


def test_why_page_explains_the_run_and_sweeps(page, app_url: str) -> None:  # noqa: ANN001 - playwright Page
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page, RUN_TIMEOUT_MS)
    page.get_by_role("link", name="Why kept or dropped").click()
    page.get_by_role("heading", name="The funnel of each setting").wait_for(timeout=60_000)
    wait_until_idle(page)
    page.get_by_role("button", name="Run the sweep").click()
    page.get_by_text("Click a cell to pick it").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page, RUN_TIMEOUT_MS)
    main = page.locator('[data-testid="stMain"]')
    # two funnels, two histograms, the heatmap and two curves
    assert main.locator(".js-plotly-plot").count() >= 7
    assert not page.locator('[data-testid="stException"]').count()
    page.set_viewport_size({"width": 1600, "height": 3300})
    main.evaluate("element => element.scrollTo(0, 0)")
    page.keyboard.press("Home")
    page.wait_for_timeout(1500)
    Path(SCREENSHOT).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
