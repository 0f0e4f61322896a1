"""Benchmark a batch: images per minute in this process and on a local Ray instance with 2 workers.

    python bench/bench_batch.py [--images 24] [--size 192] [--preset NAME]... [--modes local,ray]

Generates a folder of shape scenes, runs `run_batch` on the demo model once per mode into a fresh
output folder, and reports images per minute two ways: end to end (model load, Ray start,
writing the output files included) and steady (from the moment the model or the workers were
ready until the output files were written). Every mode uses one torch thread per image (the batch's
default), so their results are identical; `local-2` (two threads, one process) is there for
comparison. The load average before and after says how busy the machine was.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from samcompare.batch import BatchRequest, run_batch  # noqa: E402
from samcompare.config import AmgConfig  # noqa: E402
from samcompare.demo.shapes import generate_scene  # noqa: E402

MODES = {
    "local": {"ray_address": None, "threads": 1},
    "local-2": {"ray_address": None, "threads": 2},
    "ray": {"ray_address": "local", "threads": 1, "workers": 2},
}


def make_folder(folder: Path, count: int, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        scene = generate_scene(np.random.default_rng(index), size, size)
        Image.fromarray(scene.image).save(folder / f"scene_{index:03d}.png")


def run_mode(mode: str, folder: Path, out: Path, configs: tuple[AmgConfig, ...]) -> tuple[float, float, int]:
    """(end-to-end seconds, steady seconds, images done)."""
    ready_at: list[float] = []

    def echo(message: str) -> None:
        if message.startswith(("model ", "Ray:")):
            ready_at.append(time.perf_counter())

    request = BatchRequest(folder, configs, "demo", out, device="cpu", **MODES[mode])  # type: ignore[arg-type]
    start = time.perf_counter()
    summary = run_batch(request, echo=echo, progress=False)
    end = time.perf_counter()
    if mode == "ray":
        import ray

        ray.shutdown()
    return end - start, end - (ready_at[0] if ready_at else start), summary.done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=24, help="shape scenes in the folder")
    parser.add_argument("--size", type=int, default=192, help="side of each scene, px")
    parser.add_argument("--preset", action="append", default=None, help="settings (default: SAM default, Fast preview)")
    parser.add_argument("--modes", default="local,local-2,ray", help=f"comma-separated, of {', '.join(MODES)}")
    args = parser.parse_args()
    configs = tuple(AmgConfig.preset(name) for name in (args.preset or ["SAM default", "Fast preview"]))
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "scenes"
        make_folder(folder, args.images, args.size)
        for mode in modes:
            total, steady, done = run_mode(mode, folder, Path(temporary) / f"out-{mode}", configs)
            rows.append((mode, done, total, steady))
            print(f"{mode}: {done} images, {total:.1f} s end to end, {steady:.1f} s steady", flush=True)
    load_after = os.getloadavg()
    print()
    print(f"{args.images} scenes of {args.size} px, settings: {', '.join(c.name for c in configs)}; demo model, CPU")
    print(
        f"load average (1, 5, 15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
        f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; {os.cpu_count()} CPUs"
    )
    print()
    print("| mode | images/min end to end | images/min steady | s end to end |")
    print("|---|---:|---:|---:|")
    for mode, done, total, steady in rows:
        print(f"| {mode} | {60 * done / total:.1f} | {60 * done / steady:.1f} | {total:.1f} |")


if __name__ == "__main__":
    main()
