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
