"""The History page in a real browser: stored comparisons with thumbnails, one reopened and marked, deletion asked
first; the settings chosen across images shown whole."""

from __future__ import annotations

import re

import pytest

from samcompare.config import AmgConfig
from samcompare.engine import compare
from samcompare.samples import SHAPES, load_sample, sample_names
from samcompare.store import ResultStore
from tests.e2e.conftest import screenshot_path, wait_for_app, wait_until_idle

CONFIGS = [
    AmgConfig(
        name="Loose, every candidate kept above 0.5", points_per_side=8, pred_iou_thresh=0.5, stability_score_thresh=0.5
    ),
    AmgConfig(
        name="Strict, the article's thresholds", points_per_side=8, pred_iou_thresh=0.9, stability_score_thresh=0.95
    ),
]

# Text cut by its box (an ellipsis): any element inside whose content is wider than the element.
CLIPPED = """(container) => Array.from(container.querySelectorAll('*'))
    .filter((element) => element.children.length === 0 && element.innerText)
    .filter((element) => element.scrollWidth > element.clientWidth + 1)
    .map((element) => element.innerText)"""

pytestmark = pytest.mark.e2e


def test_history_lists_reopens_marks_and_deletes_after_asking(page, app_url: str, demo_sam) -> None:  # noqa: ANN001
    store = ResultStore()  # the server's store: both read SAMCOMPARE_HOME set for the test session
    names = sample_names(SHAPES)[:3]
    for name in names:
        pixels = load_sample(name)
        store.add_run(pixels, name, "demo", "cpu", compare(demo_sam, pixels, CONFIGS))
    newest = store.runs(limit=1)[0]
    before = store.count_runs()

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
    wait_until_idle(page)
    page.screenshot(path=str(screenshot_path("history.png")))

    row = page.locator(f".st-key-history_row_{newest.run_id}")
    row.get_by_role("button", name="Open").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=60_000)
    wait_until_idle(page)
    assert page.get_by_text(f"{newest.image_name} (").first.is_visible()
    opened = row.get_by_role("button", name="Opened")
    assert opened.is_visible() and opened.is_disabled()  # the opened run is marked in the list
    assert row.get_by_text("open above").is_visible()

    row.get_by_role("button", name="Delete").click()
    row.get_by_text("for good").wait_for(timeout=30_000)
    assert ResultStore().count_runs() == before  # asked, not done
    row.get_by_role("button", name="Keep").click()
    wait_until_idle(page)
    assert ResultStore().count_runs() == before

    page.get_by_role("tab", name="Settings across images").click()
    wait_until_idle(page)
    chosen = page.locator('[data-testid="stMultiSelectTagsContainer"]').first
    chosen.get_by_label(re.compile(r"^Remove ")).first.wait_for(timeout=30_000)
    assert chosen.get_by_label(re.compile(r"^Remove ")).count() == 2
    for config in CONFIGS:
        assert chosen.get_by_text(config.name, exact=False).first.is_visible()
    clipped = chosen.evaluate(CLIPPED)
    assert clipped == []  # each chip shows its whole setting label
    assert not page.locator('[data-testid="stException"]').count()
