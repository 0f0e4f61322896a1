"""The compare page in a real browser: a run drawn; a refused value explained; six settings laid out at 1400 px;
Stop in the middle of a run."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import edit_setting, screenshot_path, settings_table, wait_for_app, wait_until_idle

RUN_TIMEOUT_MS = 180_000

pytestmark = pytest.mark.e2e


def open_compare(page, app_url: str) -> None:  # noqa: ANN001 - playwright Page
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("button", name="Run comparison").wait_for(timeout=60_000)
    settings_table(page).wait_for(timeout=60_000)


def run_and_wait(page) -> None:  # noqa: ANN001
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page, RUN_TIMEOUT_MS)


def no_exception(page) -> bool:  # noqa: ANN001
    return not page.locator('[data-testid="stException"]').count()


def test_default_comparison_runs_and_is_drawn(page, app_url: str) -> None:  # noqa: ANN001 - playwright Page
    open_compare(page, app_url)
    page.get_by_text("knows only simple shapes").first.wait_for(timeout=10_000)
    for row in (0, 1):  # a coarse grid: the run takes seconds on a busy CPU
        edit_setting(page, row, "points_per_side", "16")
    run_and_wait(page)
    main = page.locator('[data-testid="stMain"]')
    # the original and one overlay per setting, plus the comparison table and the mask table
    assert main.locator('[data-testid="stImage"]').count() >= 3
    assert main.locator('[data-testid="stDataFrame"]').nth(1).is_visible()
    assert page.get_by_text("SAM default, edited:").first.is_visible()
    assert page.get_by_text("High precision, edited:").first.is_visible()
    assert no_exception(page)
    # Streamlit scrolls inside its own container, so a tall window is what shows settings and results together.
    page.set_viewport_size({"width": 1400, "height": 1950})
    wait_until_idle(page)
    page.screenshot(path=str(screenshot_path("compare-shapes.png")))
    # The threshold input under the table sends at once (no table debounce): the setting is re-filtered.
    quick = page.locator('[data-testid="stNumberInput"]').filter(has_text="IoU thresh.").locator("input")
    quick.fill("0.5")
    quick.press("Enter")
    page.get_by_text("re-filtered from cache, no network pass").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    assert quick.input_value() == "0.5" and no_exception(page)


def test_refused_value_is_explained_under_the_table(page, app_url: str) -> None:  # noqa: ANN001
    open_compare(page, app_url)
    edit_setting(page, 0, "crop_n_points_downscale_factor", "0")
    message = page.get_by_text("The last valid value is used").first
    message.wait_for(timeout=30_000)
    assert "crop_n_points_downscale_factor" in message.inner_text()
    assert no_exception(page)


def test_six_settings_fit_1400_px_as_rows_of_one_table_and_a_grid_of_pictures(page, app_url: str) -> None:  # noqa: ANN001
    open_compare(page, app_url)
    for _ in range(4):
        page.get_by_role("button", name="Add setting").click()
        wait_until_idle(page)
    page.get_by_text("Settings (6 of at most 6)").wait_for(timeout=30_000)
    table = settings_table(page)
    box = table.bounding_box()
    assert box["height"] >= 35 * 7  # a header and six rows, none scrolled away
    # The ticks, the name and the six main parameters are all in view: nothing of them scrolls sideways.
    from samcompare_app.settings_editor import NAME_WIDTH, PARAMETER_WIDTH, TICK_WIDTH

    assert box["width"] >= 2 * TICK_WIDTH + NAME_WIDTH + 6 * PARAMETER_WIDTH
    for row in range(6):
        edit_setting(page, row, "points_per_side", "8")
    run_and_wait(page)
    pictures = page.locator('[data-testid="stMain"] [data-testid="stImage"] img')
    assert pictures.count() == 7  # the original and six overlays
    widths = [pictures.nth(i).bounding_box()["width"] for i in range(7)]
    assert min(widths) >= 200  # four to a row, never squeezed into seven slivers
    # Nothing on the page is wider than the window.
    assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth") <= 1400
    page.get_by_role("link", name="Why kept or dropped").click()
    page.get_by_role("heading", name="The funnel of each setting").wait_for(timeout=60_000)
    wait_until_idle(page)
    page.set_viewport_size({"width": 1400, "height": 2400})  # every funnel drawn at once
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .gtitle').length >= 6", timeout=60_000)
    # Funnel titles are whole: each title's text lies inside its own chart.
    titles = page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map((plot) => {
            const title = plot.querySelector('.gtitle');
            if (!title) return null;
            const a = title.getBoundingClientRect(), b = plot.getBoundingClientRect();
            return a.left >= b.left - 1 && a.right <= b.right + 1;
        }).filter((inside) => inside !== null)"""
    )
    assert titles and all(titles)
    assert no_exception(page)


def test_stop_keeps_the_previous_results_and_says_how_far_the_run_got(page, app_url: str) -> None:  # noqa: ANN001
    open_compare(page, app_url)
    for row in (0, 1):
        edit_setting(page, row, "points_per_side", "8")
    run_and_wait(page)
    before = page.locator('[data-testid="stMain"] [data-testid="stImage"] img').count()
    # A long run: a dense grid over crops. Stop it while it decodes.
    edit_setting(page, 1, "points_per_side", "64")
    edit_setting(page, 1, "crop_n_layers", "2")
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_text(re.compile(r"batch \d+/\d+")).first.wait_for(timeout=RUN_TIMEOUT_MS)  # decoding now
    page.get_by_role("button", name="Stop").click()
    notice = page.get_by_text("nothing was kept").first
    notice.wait_for(timeout=60_000)
    assert notice.inner_text().startswith("Stopped after")
    wait_until_idle(page)
    # No running status is left, and the results from before are still there.
    assert not page.locator('[data-testid="stExpanderIconSpinner"]').count()
    assert not page.get_by_text("Running 2 settings").count()
    assert not page.get_by_text("A new run is under way").count()
    assert page.get_by_role("heading", name="Results").is_visible()
    assert page.locator('[data-testid="stMain"] [data-testid="stImage"] img').count() == before
    # A run after the stop works.
    edit_setting(page, 1, "points_per_side", "8")
    edit_setting(page, 1, "crop_n_layers", "0")
    run_and_wait(page)
    assert page.get_by_text("Done in").first.is_visible()
    assert no_exception(page)


def test_a_pick_in_the_mask_table_is_cleared_in_the_browser_when_its_masks_change(page, app_url: str) -> None:  # noqa: ANN001
    open_compare(page, app_url)
    for row in (0, 1):
        edit_setting(page, row, "points_per_side", "16")
    run_and_wait(page)
    main = page.locator('[data-testid="stMain"]')
    before = re.search(r"SAM default, edited: (\d+) masks?", main.inner_text()).group(1)
    table = main.locator('[data-testid="stDataFrame"]').last  # the mask table, under the pictures
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection box
    page.get_by_text("1 selected mask(s) highlighted").wait_for(timeout=60_000)
    wait_until_idle(page)
    # Lower thresholds keep other masks: row 0 would name another mask, so the pick goes.
    edit_setting(page, 0, "pred_iou_thresh", "0.3")
    edit_setting(page, 0, "stability_score_thresh", "0.3")
    wait_until_idle(page)
    after = re.search(r"SAM default, edited: (\d+) masks?", main.inner_text()).group(1)
    assert after != before, "the test needs thresholds that change the masks"
    assert "highlighted" not in main.inner_text()
    # The browser's table forgot the pick too: the next rerun does not bring it back.
    page.get_by_text("Outlines", exact=True).click()
    wait_until_idle(page)
    assert "highlighted" not in main.inner_text()
    assert no_exception(page)
