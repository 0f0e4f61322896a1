"""Refresh the README's screenshots in docs/ from the browser tests, on purpose (tests alone never touch docs/).

    .venv/bin/python tools/refresh_docs_screenshots.py

Runs the four browser tests that take the pictures (compare, Why, Evaluate, History) with
SAMCOMPARE_SCREENSHOT_DIR pointing at docs/; a normal test run writes them to out/screenshots/,
which git ignores, so a fresh clone's test command leaves the tree clean. Needs Chromium (see
tests/e2e/app_server.py for where it is looked for).
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


def main() -> int:
    environment = {
        **os.environ,
        "SAMCOMPARE_SCREENSHOT_DIR": str(REPO_ROOT / "docs"),
        "SAMCOMPARE_REQUIRE_BROWSER": "1",
    }
    command = [sys.executable, "-m", "pytest", "-q", *TESTS]
    code = subprocess.call(command, cwd=REPO_ROOT, env=environment)
    if code == 0:
        print("docs/ screenshots refreshed: review them with `git diff --stat docs/` and commit them")
    return code


if __name__ == "__main__":
    sys.exit(main())
