"""Browser benchmark: how long after Enter a threshold change shows its result, with 2 to 6 settings.

    python bench/bench_threshold_latency.py [--settings 2,6] [--size 1024] [--repeat 7] [--points 32]

Starts the dashboard, opens it in headless Chromium (1400 x 1000 px), uploads a synthetic 1024 px
shape scene (the demo model's masks are real shapes at any size; a photo gives it few), sets up
the given numbers of settings (SAM default first, the others "New setting from preset" copies
with other pred_iou_thresh values, so all share one decode), runs the comparison once, then
types a new pred_iou_thresh into the first setting and presses Enter, again and again (two
values in turn, so the masks change every time). Timed in the page, from the Enter keydown:

- script: until Streamlit's script state is back to "not running" (and stays so for 400 ms),
- drawn: until then, and every picture on the page has loaded and two frames were painted.

The model is the app's default (SAMCOMPARE_MODEL where the app reads it). Not a test: it prints
median, fastest and slowest per number of settings. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samcompare.demo.shapes import generate_scene  # noqa: E402
from tests.e2e.app_server import CHROMIUM_ARGS, chromium_path, install_hint, running_app, wait_until_idle  # noqa: E402

RECORDER = """() => {
    window.__states = [];
    window.__enter = null;
    window.__changed = 0;
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(() => {
        window.__states.push([performance.now(), app.getAttribute('data-test-script-state')]);
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    const main = document.querySelector('[data-testid="stMain"]');
    new MutationObserver(() => { window.__changed = performance.now(); })
        .observe(main, {childList: true, subtree: true, attributes: true, characterData: true});
    document.addEventListener('load', () => { window.__changed = performance.now(); }, true);
    document.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') { window.__enter = performance.now(); }
    }, true);
}"""

# Settled: the script ran and stopped, and neither the script state nor the page (its elements,
# attributes, text, loaded pictures) changed for 400 ms. "drawn" is the last change before that.
SETTLED = """async () => {
    const start = window.__enter;
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const deadline = performance.now() + 60000;
    while (performance.now() < deadline) {
        await sleep(20);
        const after = window.__states.filter(([t]) => t >= start);
        const last = after[after.length - 1];
        if (!after.some(([, s]) => s === 'running') || last[1] !== 'notRunning') continue;
        const quietSince = Math.max(last[0], window.__changed);
        if (performance.now() - quietSince > 400) {
            return {script: last[0] - start, drawn: quietSince - start};
        }
    }
    return null;
}"""


def scene_png(size: int, directory: Path) -> Path:
    path = directory / f"shapes_{size}.png"
    Image.fromarray(generate_scene(np.random.default_rng(7), size, size).image).save(path)
    return path


def set_number(page, label: str, index: int, value: str) -> None:  # noqa: ANN001 - playwright Page
    field = page.locator(f'input[aria-label="{label}"]').nth(index)
    field.fill(value)
    field.press("Enter")
    wait_until_idle(page)


def measure(page, count: int, image: Path, repeat: int, points: int) -> list[tuple[float, float]]:  # noqa: ANN001
    page.get_by_text("Upload", exact=True).click()
    wait_until_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(image))
    page.get_by_text(image.name).first.wait_for(timeout=60_000)
    wait_until_idle(page)
    while page.locator('input[aria-label="Points per side"]').count() < count:
        page.get_by_role("button", name="Add setting").click()
        wait_until_idle(page)
    for index in range(count):
        set_number(page, "Points per side", index, str(points))
        set_number(page, "Crop layers", index, "0")
        set_number(page, "Predicted IoU threshold", index, f"{0.70 + 0.04 * index:.2f}")
        set_number(page, "Stability score threshold", index, "0.8")
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=600_000)
    wait_until_idle(page, 600_000)
    page.evaluate(RECORDER)
    timings = []
    field = page.locator('input[aria-label="Predicted IoU threshold"]').first
    for step in range(repeat + 1):  # the first change warms the memo of the other value
        field.fill("0.66" if step % 2 == 0 else "0.70")
        field.press("Enter")
        result = page.evaluate(SETTLED)
        if result is None:
            raise RuntimeError("the page did not rerun after Enter")
        if step > 0:
            timings.append((result["script"] / 1000, result["drawn"] / 1000))
        page.wait_for_timeout(300)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="2,6", help="comma list of setting counts")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--points", type=int, default=32)
    args = parser.parse_args()
    chromium = chromium_path()
    if chromium is None:
        sys.exit(install_hint())
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        image = scene_png(args.size, directory)
        server = running_app(directory / "server.log", {"SAMCOMPARE_HOME": str(directory)})
        with server as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            print(f"{'settings':>8} {'script median':>14} {'drawn median':>13} {'fastest':>8} {'slowest':>8}")
            for count in (int(part) for part in args.settings.split(",")):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(url)
                wait_until_idle(page, 120_000)
                tick = time.perf_counter()
                timings = measure(page, count, image, args.repeat, args.points)
                drawn = [d for _, d in timings]
                print(
                    f"{count:>8} {statistics.median(s for s, _ in timings):>13.2f}s "
                    f"{statistics.median(drawn):>12.2f}s {min(drawn):>7.2f}s {max(drawn):>7.2f}s"
                    f"   ({len(timings)} changes, {time.perf_counter() - tick:.0f} s in all)"
                )
                context.close()
            browser.close()


if __name__ == "__main__":
    main()
