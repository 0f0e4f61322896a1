"""Benchmark the threshold sweep against running the official `SamAutomaticMaskGenerator` once per cell.

    python bench/bench_sweep.py [--model demo|vit_b] [--size 1024] [--points 32] [--cells 10] [--low 0.5]

The sweep is `cells` x `cells` values of pred_iou_thresh x stability_score_thresh over one
decode of a `points` x `points` grid. Timed: the decode (once), the sweep of every cell from the
cached decode (count and coverage per cell, fastest of --repeat), and the official generator on
--official-cells of those cells, from which the time of running it for every cell is
extrapolated. Every official count is checked against its cell. The demo model's masks are
smooth shapes at any image size; vit_b is built with random weights (the same compute as the
real one), whose masks are noise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_engine import build_model  # noqa: E402
from segment_anything import SamAutomaticMaskGenerator  # noqa: E402

from samcompare.config import AmgConfig  # noqa: E402
from samcompare.demo.shapes import generate_scene  # noqa: E402
from samcompare.engine import ComparisonCache, setting_candidates  # noqa: E402
from samcompare.explain import SweepAxis, sweep, sweep_floor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", choices=["demo", "vit_b", "vit_l", "vit_h"])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--points", type=int, default=32)
    parser.add_argument("--cells", type=int, default=10, help="values per axis")
    parser.add_argument("--official-cells", type=int, default=3)
    parser.add_argument("--low", type=float, default=0.5, help="lowest threshold of both axes (0: every candidate)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = build_model(args.model)
    image = generate_scene(np.random.default_rng(7), args.size, args.size).image
    base = AmgConfig(points_per_side=args.points)
    axes = [
        SweepAxis.linspace("pred_iou_thresh", args.low, 0.98, args.cells),
        SweepAxis.linspace("stability_score_thresh", args.low, 0.98, args.cells),
    ]
    cache = ComparisonCache()
    start = time.perf_counter()
    with torch.inference_mode():
        candidates = setting_candidates(model, image, base, floor=sweep_floor(base, axes), cache=cache)
    decode_seconds = time.perf_counter() - start
    best = float("inf")
    for _ in range(args.repeat):
        result = sweep(candidates, axes, base)
        best = min(best, result.seconds)
    n_cells = len(result.frame)
    picks = np.linspace(0, n_cells - 1, args.official_cells).round().astype(int)
    official_seconds = []
    for row in picks:
        config = result.config_at(int(row))
        generator = SamAutomaticMaskGenerator(model, **config.to_kwargs())
        start = time.perf_counter()
        with torch.inference_mode():
            records = generator.generate(image)
        official_seconds.append(time.perf_counter() - start)
        if len(records) != result.frame["masks"].iloc[row]:
            raise SystemExit(
                f"cell {config.name}: official {len(records)} masks, sweep {result.frame['masks'].iloc[row]}"
            )
    per_cell = float(np.mean(official_seconds))
    print(
        f"model {args.model}, {args.size} px, {args.points} x {args.points} points ({result.candidates} candidates, "
        f"{result.computed} post-processed), {n_cells} cells, masks per cell {result.frame['masks'].min()}-"
        f"{result.frame['masks'].max()}"
    )
    print(f"decode once (cold): {decode_seconds:.2f} s")
    print(f"sweep of {n_cells} cells from the cached decode: {best:.3f} s ({1000 * best / n_cells:.1f} ms per cell)")
    print(f"official generator: {per_cell:.2f} s per cell ({args.official_cells} cells, counts equal)")
    print(f"official for all {n_cells} cells (extrapolated): {per_cell * n_cells:.0f} s")
    print(f"ratio sweep / official for all cells: {best / (per_cell * n_cells):.5f}")
    print(f"ratio (decode + sweep) / official for all cells: {(decode_seconds + best) / (per_cell * n_cells):.4f}")


if __name__ == "__main__":
    main()
