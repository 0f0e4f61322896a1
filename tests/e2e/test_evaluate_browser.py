"""The Evaluate page in a real browser: after a run on a shape sample, its metrics against the scene's ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, wait_for_app, wait_until_idle

SCREENSHOT = REPO_ROOT / "docs" / "evaluate.png"
RUN_TIMEOUT_MS = 90_000

pytestmark = pytest.mark.e2e


def test_evaluate_page_shows_metrics_after_a_run(page, app_url: str) -> None:  # noqa: ANN001 - playwright Page
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("button", name="Run comparison").wait_for(timeout=60_000)
    # A small grid (the run takes seconds), and a second setting with looser thresholds to tell apart.
    changes = [('input[aria-label="Points per side"]', "16", None)]
    changes += [
        (f'input[aria-label="{label}"]', "0.5", 1) for label in ("Predicted IoU threshold", "Stability score threshold")
    ]
    changes += [('input[aria-label="Setting name"]', "High precision, thresholds 0.5", 1)]
    for selector, value, only in changes:
        fields = page.locator(selector).all()
        for field in fields if only is None else [fields[only]]:
            field.fill(value)
            field.press("Enter")
            wait_until_idle(page)
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page, RUN_TIMEOUT_MS)

    page.get_by_role("link", name="Evaluate").click()
    page.get_by_role("heading", name="Metrics against the ground truth").wait_for(timeout=60_000)
    wait_until_idle(page, RUN_TIMEOUT_MS)
    main = page.locator('[data-testid="stMain"]')
    assert page.get_by_text("exact, from the sample scene").first.is_visible()
    assert main.locator('[data-testid="stDataFrame"]').count() >= 2  # metrics and a mask table
    assert main.locator('[data-testid="stPlotlyChart"]').count() == 1  # recall against the IoU threshold
    assert main.locator('[data-testid="stImage"]').count() >= 1  # the three-colour picture
    assert page.get_by_text("found objects").first.is_visible()
    assert not page.locator('[data-testid="stException"]').count()
    page.set_viewport_size({"width": 1600, "height": 1900})
    page.wait_for_timeout(1500)
    Path(SCREENSHOT).parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
