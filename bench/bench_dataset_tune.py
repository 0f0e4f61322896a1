"""Benchmark tuning over a folder: decode every image once, then search settings from the cached pools.

    python bench/bench_dataset_tune.py [--images 20] [--size 512] [--points 32] [--trials 100] [--model demo]

Synthetic shape scenes (`generate_scene`, seeded) with their exact objects as ground truth; the
start is SAM's defaults at `--points` per side, the objective F1 at IoU 0.5, the search space the
default one (pred_iou_thresh and stability_score_thresh 0.5-1, box_nms_thresh 0.3-1, nine
min_mask_region_area values). Timed apart: the decode of every image (the network, once), and the
trials (no network). Reported: each image's candidate pool after the search (what it keeps:
scores, the RLE of each candidate a setting could keep, IoU rows, cleaned masks), and the
process's peak resident memory. The demo model's masks are smooth shapes at any size; vit_b is
built with random weights (the compute of the real one), whose masks are noise: the pools' worst case.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import optuna  # noqa: F401 - imported before the clock starts
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_engine import build_model  # noqa: E402

from samcompare.config import AmgConfig  # noqa: E402
from samcompare.demo.shapes import generate_scene  # noqa: E402
from samcompare.evaluation import ground_truth_from_masks  # noqa: E402
from samcompare.tuning import Objective, SearchSpace  # noqa: E402
from samcompare.tuning.dataset import DatasetImage  # noqa: E402
from samcompare.tuning.dataset_search import build_pools, search_pools  # noqa: E402


def scene_images(count: int, size: int) -> list[DatasetImage]:
    """`count` seeded scenes that each have at least one object (a scene of clutter alone has no ground truth)."""
    images: list[DatasetImage] = []
    seed = 1000
    while len(images) < count:
        scene = generate_scene(np.random.default_rng(seed), size, size)
        if len(scene.object_masks()):

            def load(seed: int = seed) -> tuple[np.ndarray, object]:
                scene = generate_scene(np.random.default_rng(seed), size, size)
                return scene.image, ground_truth_from_masks(scene.object_masks(), f"scene {seed}")

            images.append(DatasetImage(f"scene_{seed}.png", f"scene_{seed}.png", load))  # type: ignore[arg-type]
        seed += 1
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", choices=["demo", "vit_b", "vit_l", "vit_h"])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--points", type=int, default=32)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-memory", type=float, default=2.0, help="the pools' limit, GiB")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    model = build_model(args.model)
    images = scene_images(args.images, args.size)
    objective, base, space = Objective.parse("f1_50"), AmgConfig(points_per_side=args.points), SearchSpace()

    start = time.perf_counter()
    with torch.inference_mode():
        pools, skipped = build_pools(
            model, images, objective, base, space, (0.5,), max_pool_bytes=round(args.max_memory * 2**30)
        )
    decode_seconds = time.perf_counter() - start
    assert not skipped, skipped
    decoded_bytes = [pool.nbytes for pool in pools]

    start = time.perf_counter()
    start_value, trials = search_pools(pools, objective, base, space, args.trials, args.seed)
    search_seconds = time.perf_counter() - start
    best = max(trial.value for trial in trials)
    searched_bytes = [pool.nbytes for pool in pools]
    candidates = sum(len(scorer.candidates) for scorer in pools[0].scorers)
    kept = sum(
        sum(count is not None for count in crop.counts)
        for scorer in pools[0].scorers
        for crop in scorer.candidates.crops
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    mib = 2**20
    print(
        f"model {args.model}, {args.images} images of {args.size} px, {args.points} x {args.points} points "
        f"({candidates} candidates per image, {kept} kept as RLE on the first), {args.trials} trials, "
        f"torch threads {args.threads}"
    )
    print(f"decode (network, once per image): {decode_seconds:.1f} s ({decode_seconds / args.images:.2f} s per image)")
    print(
        f"search: {args.trials} trials in {search_seconds:.1f} s ({1000 * search_seconds / args.trials:.0f} ms per "
        f"trial, {1000 * search_seconds / args.trials / args.images:.1f} ms per image and trial); mean F1 "
        f"{start_value:.3f} at the start, {best:.3f} best"
    )
    print(
        f"pools per image: {np.mean(decoded_bytes) / mib:.2f} MiB after the decode, "
        f"{np.mean(searched_bytes) / mib:.2f} MiB after the search (largest {max(searched_bytes) / mib:.2f}); "
        f"all {sum(searched_bytes) / mib:.1f} MiB; "
        f"peak resident memory of the process {peak / mib:.0f} MiB"
    )
    print(f"load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after (1 minute)")


if __name__ == "__main__":
    main()
