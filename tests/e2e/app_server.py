"""Start `streamlit run dashboard.py` on a free port, and wait for the app in a browser page.

Shared by the browser tests' conftest and the browser benchmarks in bench/ (one way to start
the app and one meaning of "idle", so a benchmark measures what the tests wait for).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = (
    "no Chromium found (looked for {paths} and $SAMCOMPARE_CHROMIUM). Install it with "
    "`sudo apt-get install chromium` (Debian/Ubuntu; CI's .ci/run does this), or point "
    "SAMCOMPARE_CHROMIUM at a Chrome or Chromium binary"
)
SERVER_START_TIMEOUT_S = 60.0


def chromium_path() -> Path | None:
    """The Chromium to drive: $SAMCOMPARE_CHROMIUM, else the first system one found."""
    chosen = os.environ.get("SAMCOMPARE_CHROMIUM")
    candidates = [chosen] if chosen else [*CHROMIUM_CANDIDATES, shutil.which("chromium") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def install_hint() -> str:
    return INSTALL_HINT.format(paths=", ".join(CHROMIUM_CANDIDATES))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before serving")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not serve {url} within {timeout_s:.0f} s")


@contextmanager
def running_app(log_path: Path, environment: dict[str, str] | None = None) -> Iterator[str]:
    """The dashboard served on a free local port; yields its URL and stops it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **(environment or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process, SERVER_START_TIMEOUT_S)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_app(page: object, timeout_ms: int = 60_000) -> None:
    """Wait until the app has connected and its script has stopped running."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)  # type: ignore[attr-defined]
    wait_until_idle(page, timeout_ms)


IDLE_SCRIPT = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stStatusWidget"]');
}"""


def wait_until_idle(page: object, timeout_ms: int = 60_000) -> None:
    """Wait until the script has run and stopped: Streamlit's own script state, not a fixed pause.

    A rerun asked for a moment ago may not have begun yet, so the state must read "not running"
    twice, 250 ms apart.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        remaining = max(1, int((deadline - time.monotonic()) * 1000))
        page.wait_for_function(IDLE_SCRIPT, timeout=remaining)  # type: ignore[attr-defined]
        page.wait_for_timeout(250)  # type: ignore[attr-defined]
        if page.evaluate(IDLE_SCRIPT):  # type: ignore[attr-defined]
            return


# The settings table of the compare page (samcompare_app/settings_editor.py): rows of 35 px under a 35 px header.
TABLE_ROW_PX = 35


def settings_table(page: object) -> object:
    """The compare page's settings table (the page's first table)."""
    return page.locator('[data-testid="stDataFrame"]').first  # type: ignore[attr-defined]


def open_setting_cell(page: object, row: int, column: str) -> object:
    """Open the editor of the settings table's cell (`row`, `column`) as a user does; returns the editor.

    The grid is a canvas: click the row's name cell, walk to the column with the arrow keys (the
    table's column order is the editor's own), press Enter. A click that lands while the table is
    being redrawn selects nothing, so that is tried again.
    """
    from samcompare_app.settings_editor import NAME_WIDTH, TICK_WIDTH, column_order

    table = settings_table(page)
    table.wait_for(timeout=60_000)  # type: ignore[attr-defined]
    table.scroll_into_view_if_needed()  # type: ignore[attr-defined]
    steps = column_order().index(column) - column_order().index("name")
    editor = page.locator("#portal textarea, #portal input").first  # type: ignore[attr-defined]
    for attempt in range(4):
        box = table.bounding_box()  # type: ignore[attr-defined]
        x = box["x"] + 2 * TICK_WIDTH + NAME_WIDTH / 2
        y = box["y"] + TABLE_ROW_PX * (row + 1) + TABLE_ROW_PX / 2
        page.mouse.click(x, y)  # type: ignore[attr-defined]
        page.wait_for_timeout(150)  # type: ignore[attr-defined]
        for _ in range(abs(steps)):
            page.keyboard.press("ArrowRight" if steps > 0 else "ArrowLeft")  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]  # opens the cell's editor
        try:
            editor.wait_for(timeout=5_000)
            return editor
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: no editor opened this time
            if attempt == 3:
                raise
            page.keyboard.press("Escape")  # type: ignore[attr-defined]
            wait_until_idle(page)
    return editor


def edit_setting(page: object, row: int, column: str, value: str) -> None:
    """Type `value` into the settings table's cell (`row`, `column`), press Enter, and wait for the rerun."""
    editor = open_setting_cell(page, row, column)
    editor.fill(value)  # type: ignore[attr-defined]
    editor.press("Enter")  # type: ignore[attr-defined]
    wait_until_idle(page)
