"""The Why page in a real browser: funnels, histograms and a sweep are drawn; a click on the heatmap picks its
cell; a pick in the dropped-candidate table follows the candidate, not the row; "Added" appears by its button."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import edit_setting, screenshot_path, settings_table, wait_for_app, wait_until_idle

RUN_TIMEOUT_MS = 180_000
PICKED = re.compile(r"#(\d+)\s+\((\w+)\)")

pytestmark = pytest.mark.e2e


def strict_run_then_why(page, app_url: str) -> None:  # noqa: ANN001 - playwright Page
    """A small grid with thresholds that drop candidates at several stages, then the Why page."""
    page.goto(app_url)
    wait_for_app(page)
    settings_table(page).wait_for(timeout=60_000)
    for row in (0, 1):
        edit_setting(page, row, "points_per_side", "12")
    edit_setting(page, 0, "pred_iou_thresh", "0.7")
    edit_setting(page, 0, "stability_score_thresh", "0.8")
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page, RUN_TIMEOUT_MS)
    page.get_by_role("link", name="Why kept or dropped").click()
    page.get_by_role("heading", name="The funnel of each setting").wait_for(timeout=60_000)
    wait_until_idle(page)


def picked(page) -> list[tuple[int, str]]:  # noqa: ANN001
    """The candidates drawn beside the dropped-candidate table, as (id, fate)."""
    section = page.locator('[data-testid="stMain"]')
    return [(int(i), fate) for i, fate in PICKED.findall(section.inner_text())]


SHOWN_VALUE = (
    """(box) => box.innerText + ' ' + Array.from(box.querySelectorAll('input')).map((i) => i.value).join(' ')"""
)


def shown(select) -> str:  # noqa: ANN001 - a playwright Locator of an st.selectbox
    """A select box's label and the value it shows (kept in an input's value, not in its text)."""
    return str(select.evaluate(SHOWN_VALUE))


def shown_count(page) -> int:  # noqa: ANN001
    """The dropped-candidate table's row count, from its caption."""
    return int(re.search(r"(\d+) candidates shown", page.locator('[data-testid="stMain"]').inner_text()).group(1))


def test_why_page_explains_the_run_and_a_click_picks_a_sweep_cell(page, app_url: str) -> None:  # noqa: ANN001
    strict_run_then_why(page, app_url)
    page.get_by_role("button", name="Run the sweep").click()
    page.get_by_text("Click a cell to pick it").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_until_idle(page, RUN_TIMEOUT_MS)
    page.set_viewport_size({"width": 1400, "height": 3300})  # every chart drawn
    main = page.locator('[data-testid="stMain"]')
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 7", timeout=60_000)
    # two funnels, two histograms, the heatmap and two curves
    assert main.locator(".js-plotly-plot").count() >= 7
    assert not page.locator('[data-testid="stException"]').count()
    page.screenshot(path=str(screenshot_path("why.png")), full_page=True)

    iou_pick = page.locator('[data-testid="stSelectbox"]').filter(has_text="pred_iou_thresh").first
    stability_pick = page.locator('[data-testid="stSelectbox"]').filter(has_text="stability_score_thresh").first
    assert "0.7" in shown(iou_pick)  # the base setting's own cell, before any click
    # The heatmap's cells are markers; the first is the lowest pred_iou_thresh and stability_score_thresh.
    heatmap = page.locator(".js-plotly-plot").filter(has_text="masks kept").first
    cells = heatmap.locator(".scatterlayer .trace").first.locator("path.point")
    assert cells.count() >= 100
    cell = cells.first.bounding_box()  # plotly's drag layer takes the mouse and finds the marker under it
    page.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)
    wait_until_idle(page)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('[data-testid="stSelectbox"]')).some((box) =>
            box.innerText.includes('pred_iou_thresh')
            && Array.from(box.querySelectorAll('input')).some((i) => i.value === '0.5'))""",
        timeout=30_000,
    )
    assert "0.5" in shown(iou_pick) and "0.5" in shown(stability_pick)
    # "Added" is said right under the button that added, not below every chart.
    button = page.get_by_role("button", name="Add to the comparison")
    button.click()
    wait_until_idle(page)
    added = page.get_by_text("to the Compare page: run it there").first
    added.wait_for(timeout=30_000)
    gap = added.bounding_box()["y"] - button.bounding_box()["y"]
    assert 0 < gap < 200


def test_a_pick_in_the_dropped_candidate_table_follows_the_candidate(page, app_url: str) -> None:  # noqa: ANN001
    strict_run_then_why(page, app_url)
    # Only the box-NMS drops first (they have masks): pick the fourth.
    page.get_by_label("Remove pred_iou_thresh").first.click()
    wait_until_idle(page)
    frame = page.locator('[data-testid="stDataFrame"]').first  # the page's one table: the dropped candidates
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 * 4 + 17)  # the fourth row's selection box
    wait_until_idle(page)
    page.wait_for_function(
        "() => /#\\d+ \\(box_nms\\)/.test(document.querySelector('[data-testid=\"stMain\"]').innerText)"
    )
    ((candidate, fate),) = picked(page)
    assert fate == "box_nms"
    shown_before = shown_count(page)
    # Bring the predicted-IoU drops back: hundreds of rows come before it, and the pick stays on its candidate.
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Fates shown").locator("input").click()
    page.get_by_role("option", name="pred_iou_thresh").click()
    page.keyboard.press("Escape")
    page.wait_for_function(  # wait for what the test needs: the longer table, not a fixed pause
        f"() => /(\\d+) candidates shown/.exec(document.body.innerText)?.[1] > {shown_before}", timeout=60_000
    )
    wait_until_idle(page)
    assert picked(page) == [(candidate, fate)]
    # Take its own fate out: it is no longer shown, and no other candidate takes its row.
    page.get_by_label(f"Remove {fate}").first.click()
    page.get_by_text("Select rows (shift/ctrl for several) to see their masks").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    assert picked(page) == []
    assert not page.locator('[data-testid="stException"]').count()
