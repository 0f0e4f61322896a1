"""The History page in a real browser: stored comparisons with thumbnails, one reopened; a screenshot for the docs."""

from __future__ import annotations

import pytest

from samcompare.config import AmgConfig
from samcompare.engine import compare
from samcompare.samples import SHAPES, load_sample, sample_names
from samcompare.store import ResultStore
from tests.e2e.conftest import REPO_ROOT, wait_for_app, wait_until_idle

SCREENSHOT = REPO_ROOT / "docs" / "history.png"
CONFIGS = [
    AmgConfig(name="Loose", points_per_side=8, pred_iou_thresh=0.5, stability_score_thresh=0.5),
    AmgConfig(name="Strict", points_per_side=8, pred_iou_thresh=0.9, stability_score_thresh=0.95),
]

pytestmark = pytest.mark.e2e


def test_history_lists_stored_runs_and_reopens_one(page, app_url: str, demo_sam) -> None:  # noqa: ANN001
    store = ResultStore()  # the server's store: both read SAMCOMPARE_HOME set for the test session
    names = sample_names(SHAPES)[:3]
    for name in names:
        pixels = load_sample(name)
        store.add_run(pixels, name, "demo", "cpu", compare(demo_sam, pixels, CONFIGS))
    newest = store.runs(limit=1)[0]

    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("button", name="Run comparison").wait_for(timeout=60_000)  # the app's own navigation is up
    page.locator('[data-testid="stSidebarNav"]').get_by_text("History", exact=True).click()
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text(f"{newest.image_name} ·").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    for name in names:
        assert main.get_by_text(f"{name} ·").first.is_visible()
    assert main.locator('[data-testid="stImage"]').count() >= len(names)  # thumbnails
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.wait_for_timeout(800)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    main.get_by_role("button", name="Open").first.click()
    page.get_by_role("heading", name="Results").wait_for(timeout=60_000)
    wait_until_idle(page)
    assert page.get_by_text(f"{newest.image_name} (").first.is_visible()
    assert not page.locator('[data-testid="stException"]').count()
