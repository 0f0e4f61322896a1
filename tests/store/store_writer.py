"""Helpers for the store tests: small engine-shaped results without a model, and a writer process."""

from __future__ import annotations

from typing import Any

import numpy as np

from samcompare.config import AmgConfig
from samcompare.engine.result import CacheUse, RunResult, StageTimings
from samcompare.engine.rle import encode_mask

IMAGE_SIZE = (24, 32)


def synthetic_image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*IMAGE_SIZE, 3), dtype=np.uint8)


def synthetic_result(seed: int, name: str = "synthetic") -> RunResult:
    """A `RunResult` with a few random rectangles, dtypes as the engine makes them."""
    rng = np.random.default_rng(seed)
    height, width = IMAGE_SIZE
    masks, boxes = [], []
    for _ in range(int(rng.integers(0, 5))):
        x0, y0 = int(rng.integers(0, width - 4)), int(rng.integers(0, height - 4))
        x1, y1 = x0 + int(rng.integers(2, 5)), y0 + int(rng.integers(2, 5))
        mask = np.zeros(IMAGE_SIZE, bool)
        mask[y0:y1, x0:x1] = True
        masks.append(mask)
        boxes.append([x0, y0, x1 - 1, y1 - 1])
    n = len(masks)
    return RunResult(
        config=AmgConfig(name=name, points_per_side=4, pred_iou_thresh=float(rng.uniform(0, 1))),
        image_shape=IMAGE_SIZE,
        counts=tuple(encode_mask(mask) for mask in masks),
        boxes=np.asarray(boxes, dtype=np.int64).reshape(n, 4),
        predicted_ious=rng.uniform(0, 1.1, n).astype(np.float32),
        stability_scores=rng.uniform(0, 1, n).astype(np.float32),
        point_coords=rng.uniform(0, 32, (n, 2)),
        crop_boxes=np.tile(np.array([0, 0, width, height], dtype=np.int64), (n, 1)),
        timings=StageTimings(total=float(rng.uniform(0, 1))),
        cache_use=CacheUse(decodes_computed=1),
    )


def write_runs(path: str, writer: int, count: int, start: Any, done: Any) -> None:
    """Open (maybe create) the store at `path` once all writers are ready, add `count` runs, put their ids in `done`.

    Every third image is the same for all writers, so they also race to insert it.
    """
    from samcompare.store import ResultStore

    start.wait(timeout=120)
    store = ResultStore(path)
    ids = []
    for index in range(count):
        seed = 1000 * writer + index
        image_seed = index if index % 3 == 0 else seed
        results = [synthetic_result(seed, "a"), synthetic_result(seed + 500, "b")]
        ids.append(store.add_run(synthetic_image(image_seed), f"w{writer}-{index}", "demo", "cpu", results, "batch"))
    done.put((writer, ids))
