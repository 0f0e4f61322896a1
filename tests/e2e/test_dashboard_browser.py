"""The dashboard in a real browser: the default comparison runs and draws; a refused value says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, wait_for_app, wait_until_idle

SCREENSHOT = REPO_ROOT / "docs" / "screenshot.png"
RUN_TIMEOUT_MS = 90_000

pytestmark = pytest.mark.e2e


def test_default_comparison_runs_and_is_drawn(page, app_url: str) -> None:  # noqa: ANN001 - playwright Page
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("button", name="Run comparison").wait_for(timeout=60_000)
    page.get_by_text("knows only simple shapes").first.wait_for(timeout=10_000)
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page, RUN_TIMEOUT_MS)
    main = page.locator('[data-testid="stMain"]')
    # the original and one overlay per setting, plus the comparison table and the mask table
    assert main.locator('[data-testid="stImage"]').count() >= 3
    assert main.locator('[data-testid="stDataFrame"]').first.is_visible()
    assert page.get_by_text("SAM default:").first.is_visible()
    assert page.get_by_text("High precision:").first.is_visible()
    assert not page.locator('[data-testid="stException"]').count()
    # Streamlit scrolls inside its own container, so a tall window is what shows settings and results together.
    page.set_viewport_size({"width": 1600, "height": 1950})
    page.wait_for_timeout(1000)
    Path(SCREENSHOT).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))


def test_refused_value_shows_the_message_beside_the_field(page, app_url: str) -> None:  # noqa: ANN001
    page.goto(app_url)
    wait_for_app(page)
    field = page.locator('input[aria-label="Crop points downscale factor"]').first
    field.wait_for(timeout=60_000)
    field.fill("0")
    field.press("Enter")
    wait_until_idle(page)
    page.get_by_text("The last valid value is used").first.wait_for(timeout=30_000)
    assert not page.locator('[data-testid="stException"]').count()
