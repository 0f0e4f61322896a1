"""Browser tests: start `streamlit run dashboard.py` on a free port and drive it with Chromium (Playwright).

Where no Chromium is found they are skipped with how to install it (`sudo apt-get install chromium`;
no `playwright install` needed: the system Chromium is used); with SAMCOMPARE_REQUIRE_BROWSER=1,
as CI sets it, a missing browser fails them instead. Screenshots go to `out/screenshots/`
(ignored by git), never to the tracked docs/; `tools/refresh_docs_screenshots.py` points
SAMCOMPARE_SCREENSHOT_DIR at docs/ to refresh the README's pictures on purpose.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.app_server import (
    CHROMIUM_ARGS,
    REPO_ROOT,
    chromium_path,
    edit_setting,
    install_hint,
    running_app,
    settings_table,
    wait_for_app,
    wait_until_idle,
)

__all__ = ["REPO_ROOT", "edit_setting", "screenshot_path", "settings_table", "wait_for_app", "wait_until_idle"]

SCREENSHOT_DIR = REPO_ROOT / "out" / "screenshots"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives the dashboard in Chromium (skipped without a Chromium)")


def screenshot_path(name: str) -> Path:
    """Where a test's screenshot goes: out/screenshots/ unless SAMCOMPARE_SCREENSHOT_DIR says otherwise."""
    folder = Path(os.environ.get("SAMCOMPARE_SCREENSHOT_DIR") or SCREENSHOT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@pytest.fixture(scope="session")
def chromium() -> Path:
    found = chromium_path()
    if found is None:
        if os.environ.get("SAMCOMPARE_REQUIRE_BROWSER"):
            pytest.fail(f"browser tests required but {install_hint()}", pytrace=False)
        pytest.skip(f"browser tests skipped: {install_hint()}")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (requirements-dev.txt)")
    return found


@pytest.fixture(scope="session")  # the browser tests run last (tests/conftest.py), so this ends with them
def app_url(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served for the browser tests, with a history of their own (shared with this process, which
    seeds it), not the one every earlier test of the session wrote into."""
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    previous = os.environ.get("SAMCOMPARE_HOME")
    os.environ["SAMCOMPARE_HOME"] = str(tmp_path_factory.mktemp("e2e-home"))
    try:
        with running_app(log_path) as url:
            yield url
    finally:
        if previous is None:
            os.environ.pop("SAMCOMPARE_HOME", None)
        else:
            os.environ["SAMCOMPARE_HOME"] = previous


@pytest.fixture(scope="session")
def browser(chromium: Path, app_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    opened = context.new_page()
    yield opened
    context.close()
