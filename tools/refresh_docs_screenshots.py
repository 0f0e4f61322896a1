"""Refresh the README's screenshots in docs/ from the browser tests, on purpose (tests alone never touch docs/).

    .venv/bin/python tools/refresh_docs_screenshots.py [--skip-photo]

Runs the four browser tests that take the pictures (compare on shapes, Why, Evaluate, History)
with SAMCOMPARE_SCREENSHOT_DIR pointing at docs/; a normal test run writes them to
out/screenshots/, which git ignores, so a fresh clone's test command leaves the tree clean. Then
it takes the README's first picture, docs/screenshot.png: the app as a new user meets it, miniSAM
on the Astronaut photo, both default settings at 16 points per side (a few minutes on a CPU;
`weights/minisam_vit_t.pth` must be there: `python -m samcompare weights download minisam`).
Needs Chromium (see tests/e2e/app_server.py for where it is looked for).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/e2e/test_dashboard_browser.py::test_default_comparison_runs_and_is_drawn",
    "tests/e2e/test_why_browser.py::test_why_page_explains_the_run_and_a_click_picks_a_sweep_cell",
    "tests/e2e/test_evaluate_browser.py::test_evaluate_page_shows_metrics_after_a_run",
    "tests/e2e/test_history_browser.py::test_history_lists_reopens_marks_and_deletes_after_asking",
]


PHOTO_RUN_TIMEOUT_MS = 900_000


def photo_screenshot(target: Path) -> None:
    """The compare page with miniSAM on the Astronaut sample, both default settings at 16 points per side."""
    import tempfile

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO_ROOT))
    from tests.e2e.app_server import (
        CHROMIUM_ARGS,
        chromium_path,
        edit_setting,
        running_app,
        wait_for_app,
        wait_until_idle,
    )

    browser_path = chromium_path()
    if browser_path is None:
        raise SystemExit("Chromium not found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as home:
        log = Path(home) / "streamlit.log"
        environment = {"SAMCOMPARE_MODEL": "minisam", "SAMCOMPARE_HOME": home}
        with running_app(log, environment) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(browser_path), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            wait_for_app(page, 120_000)
            page.get_by_role("button", name="Run comparison").wait_for(timeout=60_000)
            for row in (0, 1):
                edit_setting(page, row, "points_per_side", "16")
            page.get_by_role("button", name="Run comparison").click()
            page.get_by_role("heading", name="Results").wait_for(timeout=PHOTO_RUN_TIMEOUT_MS)
            wait_until_idle(page, PHOTO_RUN_TIMEOUT_MS)
            page.set_viewport_size({"width": 1400, "height": 1950})
            wait_until_idle(page)
            page.screenshot(path=str(target))
            browser.close()


def main() -> int:
    environment = {
        **os.environ,
        "SAMCOMPARE_SCREENSHOT_DIR": str(REPO_ROOT / "docs"),
        "SAMCOMPARE_REQUIRE_BROWSER": "1",
    }
    command = [sys.executable, "-m", "pytest", "-q", *TESTS]
    code = subprocess.call(command, cwd=REPO_ROOT, env=environment)
    if code == 0 and "--skip-photo" not in sys.argv:
        photo_screenshot(REPO_ROOT / "docs" / "screenshot.png")
    if code == 0:
        print("docs/ screenshots refreshed: review them with `git diff --stat docs/` and commit them")
    return code


if __name__ == "__main__":
    sys.exit(main())
