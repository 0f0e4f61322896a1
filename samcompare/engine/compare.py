"""`compare`: run several generator settings on one image, sharing every piece of work they have in common.

Work is organised by crop box: each crop's embedding is computed once, each (crop, point grid,
points_per_batch) candidate set is decoded once, and every setting that uses them is filtered
from them. Per-call state lives in this call only; the model is only read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from segment_anything.modeling import Sam
from segment_anything.utils.amg import MaskData, build_all_layer_point_grids, generate_crop_boxes

from samcompare.config import AmgConfig
from samcompare.engine.cache import ComparisonCache, array_key, image_key, model_key
from samcompare.engine.candidates import (
    CandidateSet,
    Embedding,
    PendingLogits,
    complete,
    compute_embedding,
    decode_candidates,
    lowest_floor,
    processing_floor,
)
from samcompare.engine.filtering import filter_crop, merge_crops, remove_small_regions_all
from samcompare.engine.result import CacheUse, RunResult, StageTimings

# Progress weight of one encoder pass, in decoder batches (vit_b at 1024 px on a CPU: ~4).
EMBEDDING_WORK = 4.0


@dataclass(frozen=True)
class Progress:
    """A progress report; `config_index`/`config_name` name the (first) setting the current work is for."""

    stage: str  # "embedding", "decoding", "filtering" or "done"
    config_index: int
    config_name: str
    crop_index: int
    n_crops: int
    batch_index: int
    n_batches: int
    done: float
    total: float

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class _CropTask:
    crop_box: tuple[int, int, int, int]
    grid: np.ndarray = field(compare=False)
    grid_key: str
    points_per_batch: int


@dataclass
class _Ledger:
    """Mutable per-setting bookkeeping while the call runs."""

    embedding: float = 0.0
    decoding: float = 0.0
    filtering: float = 0.0
    embeddings_computed: int = 0
    embeddings_reused: int = 0
    decodes_computed: int = 0
    decodes_reused: int = 0


def _plan(config: AmgConfig, image_size: tuple[int, int]) -> list[_CropTask]:
    crop_boxes, layer_idxs = generate_crop_boxes(image_size, config.crop_n_layers, config.crop_overlap_ratio)
    grids: list[np.ndarray]
    if config.points_per_side is not None:
        grids = build_all_layer_point_grids(
            config.points_per_side, config.crop_n_layers, config.crop_n_points_downscale_factor
        )
    else:
        grids = config.to_kwargs()["point_grids"]
    tasks = []
    for box, layer in zip(crop_boxes, layer_idxs, strict=True):
        grid = grids[layer]
        tasks.append(_CropTask((box[0], box[1], box[2], box[3]), grid, array_key(grid), config.points_per_batch))
    return tasks


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("image must be an RGB uint8 array of shape (H, W, 3)")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError("image must have at least one pixel")


def compare(
    model: Sam,
    image: np.ndarray,
    configs: Sequence[AmgConfig],
    progress: ProgressCallback | None = None,
    cache: ComparisonCache | None = None,
) -> list[RunResult]:
    """Masks of every setting in `configs` on `image`, each equal to the official generator's output.

    `image` is RGB uint8 (H, W, 3). Pass a long-lived `cache` to reuse embeddings and decoded
    candidates across calls (a threshold-only change then runs no network); without one, work is
    still shared between the settings of this call.
    """
    _check_image(image)
    configs = list(configs)
    if not configs:
        return []
    cache = cache if cache is not None else ComparisonCache(max_bytes=0)
    with torch.inference_mode():
        return _compare(model, image, configs, progress, cache)


def _compare(
    model: Sam,
    image: np.ndarray,
    configs: list[AmgConfig],
    progress: ProgressCallback | None,
    cache: ComparisonCache,
) -> list[RunResult]:
    image_size = (int(image.shape[0]), int(image.shape[1]))
    mkey = model_key(model)
    ikey = image_key(image)
    mask_threshold = float(model.mask_threshold)
    plans = [_plan(config, image_size) for config in configs]
    ledgers = [_Ledger() for _ in configs]

    def embedding_key(crop_box: tuple[int, ...]) -> tuple[Any, ...]:
        return ("embedding", mkey, ikey, crop_box)

    def candidate_key(task: _CropTask) -> tuple[Any, ...]:
        return ("candidates", mkey, ikey, task.crop_box, task.grid_key, task.points_per_batch, mask_threshold)

    # Group the work: crop box -> candidate key -> (task, offsets, users as (config index, crop index)).
    crops: dict[tuple[int, ...], dict[tuple[Any, ...], tuple[_CropTask, dict[float, None], list[tuple[int, int]]]]]
    crops = {}
    for config_index, (config, tasks) in enumerate(zip(configs, plans, strict=True)):
        for crop_index, task in enumerate(tasks):
            groups = crops.setdefault(task.crop_box, {})
            key = candidate_key(task)
            if key not in groups:
                groups[key] = (task, {}, [])
            groups[key][1][float(config.stability_score_offset)] = None
            groups[key][2].append((config_index, crop_index))

    # Estimate the work left for the progress bar (cache peeks; eviction may make it approximate).
    total = float(len(configs))
    for crop_box, groups in crops.items():
        needs_embedding = False
        for key, (task, _, _) in groups.items():
            if key not in cache:
                total += _n_batches(len(task.grid), task.points_per_batch)
                needs_embedding = True
        if needs_embedding and embedding_key(crop_box) not in cache:
            total += EMBEDDING_WORK
    done = 0.0

    def report(stage: str, config_index: int, crop_index: int, batch_index: int = 0, n_batches: int = 0) -> None:
        if progress is not None:
            progress(
                Progress(
                    stage,
                    config_index,
                    configs[config_index].name,
                    crop_index,
                    len(plans[config_index]),
                    batch_index,
                    n_batches,
                    min(done, total),
                    total,
                )
            )

    per_crop: list[list[MaskData | None]] = [[None] * len(tasks) for tasks in plans]
    # Only the RLEs that survive a crop's NMS are kept per setting, so candidate sets can be let go.
    survivors: list[list[dict[int, np.ndarray]]] = [[{} for _ in tasks] for tasks in plans]
    for crop_box, groups in crops.items():
        embedding: Embedding | None = None
        for key, (task, offsets, users) in groups.items():
            first_config, first_crop = users[0]
            ledger = ledgers[first_config]
            floor = lowest_floor(processing_floor(configs[i].pred_iou_thresh) for i, _ in users)
            candidates: CandidateSet | None = cache.get(key)
            if candidates is not None and any(o not in candidates.stability for o in offsets):
                # A new stability offset: decode again, keeping the offsets and candidates it had.
                offsets = {**dict.fromkeys(candidates.stability), **offsets}
                floor = lowest_floor([floor, candidates.floor])
                candidates = None
            elif candidates is not None and not candidates.covers(floor):
                # A looser pred_iou_thresh than before: post-process the kept logits, no network.
                pending: PendingLogits | None = cache.get(_pending_key(key))
                if pending is None:
                    candidates = None  # evicted: decode again
                else:
                    tick = time.perf_counter()
                    candidates, pending = complete(model, candidates, pending, floor)
                    ledger.filtering += time.perf_counter() - tick
                    _store(cache, key, candidates, pending)
            if candidates is None:
                if embedding is None:
                    embedding = cache.get(embedding_key(crop_box))
                    if embedding is None:
                        report("embedding", first_config, first_crop)
                        tick = time.perf_counter()
                        embedding = compute_embedding(model, image, list(crop_box))
                        ledger.embedding += time.perf_counter() - tick
                        ledger.embeddings_computed += 1
                        cache.put(embedding_key(crop_box), embedding, embedding.nbytes)
                        done += EMBEDDING_WORK
                    else:
                        ledger.embeddings_reused += 1
                else:
                    ledger.embeddings_reused += 1

                def on_batch(
                    batch_index: int, n_batches: int, config_index: int = first_config, crop_index: int = first_crop
                ) -> None:
                    nonlocal done
                    done += 1.0
                    report("decoding", config_index, crop_index, batch_index + 1, n_batches)

                tick = time.perf_counter()
                candidates, pending = decode_candidates(
                    model,
                    embedding,
                    list(crop_box),
                    image_size,
                    task.grid,
                    task.points_per_batch,
                    offsets,
                    floor,
                    keep_pending=cache.max_bytes > 0,
                    on_batch=on_batch,
                )
                ledger.decoding += time.perf_counter() - tick
                ledger.decodes_computed += 1
                _store(cache, key, candidates, pending)
                del pending
                reused_users = users[1:]
            else:
                reused_users = users
            assert candidates is not None
            for config_index, _ in reused_users:
                ledgers[config_index].decodes_reused += 1
            for config_index, crop_index in users:
                tick = time.perf_counter()
                crop_data = filter_crop(candidates, configs[config_index], crop_index)
                per_crop[config_index][crop_index] = crop_data
                survivors[config_index][crop_index] = {
                    ref: candidates.counts[ref] for ref in crop_data["refs"].tolist()
                }
                ledgers[config_index].filtering += time.perf_counter() - tick
            del candidates
        del embedding

    results = []
    for config_index, config in enumerate(configs):
        ledger = ledgers[config_index]
        report("filtering", config_index, len(plans[config_index]) - 1)
        tick = time.perf_counter()
        crop_data = [d for d in per_crop[config_index] if d is not None]
        result = _finish(config, image_size, crop_data, survivors[config_index], ledger, tick)
        results.append(result)
        per_crop[config_index] = []
        survivors[config_index] = []
        done += 1.0
    if progress is not None:
        progress(Progress("done", len(configs) - 1, configs[-1].name, 0, 0, 0, 0, total, total))
    return results


def _pending_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return ("pending", *key)


def _store(
    cache: ComparisonCache, key: tuple[Any, ...], candidates: CandidateSet, pending: PendingLogits | None
) -> None:
    """Cache a candidate set with the logits it has not post-processed yet (replacing older ones)."""
    cache.put(key, candidates, candidates.nbytes)
    cache.discard(_pending_key(key))
    if pending is not None:
        cache.put(_pending_key(key), pending, pending.nbytes)


def _n_batches(n_points: int, points_per_batch: int) -> int:
    return n_points // points_per_batch + int(n_points % points_per_batch != 0)


def _finish(
    config: AmgConfig,
    image_size: tuple[int, int],
    crop_data: list[MaskData],
    survivors: list[dict[int, np.ndarray]],
    ledger: _Ledger,
    tick: float,
) -> RunResult:
    data = merge_crops(crop_data, config)
    if data is None:
        counts: list[np.ndarray] = []
        boxes = np.zeros((0, 4), dtype=np.int64)
        ious = stabilities = np.zeros(0, dtype=np.float32)
        points = np.zeros((0, 2), dtype=np.float64)
        crop_boxes = np.zeros((0, 4), dtype=np.int64)
    else:
        counts = [
            survivors[crop_id][ref]
            for crop_id, ref in zip(data["crop_ids"].tolist(), data["refs"].tolist(), strict=True)
        ]
        boxes, ious, stabilities = data["boxes"], data["iou_preds"], data["stability_score"]
        points, crop_boxes = data["points"], data["crop_boxes"]
    filtering = ledger.filtering + time.perf_counter() - tick

    tick = time.perf_counter()
    if config.min_mask_region_area > 0 and counts:
        cleaned = remove_small_regions_all(
            counts,
            image_size,
            boxes,
            config.min_mask_region_area,
            max(config.box_nms_thresh, config.crop_nms_thresh),
        )
        keep = cleaned.keep
        counts, boxes = cleaned.counts, cleaned.boxes
        ious, stabilities, points, crop_boxes = ious[keep], stabilities[keep], points[keep], crop_boxes[keep]
    cleanup = time.perf_counter() - tick

    own = ledger.embedding + ledger.decoding + filtering + cleanup
    return RunResult(
        config=config,
        image_shape=image_size,
        counts=tuple(counts),
        boxes=boxes,
        predicted_ious=ious,
        stability_scores=stabilities,
        point_coords=points,
        crop_boxes=crop_boxes,
        timings=StageTimings(ledger.embedding, ledger.decoding, filtering, cleanup, own),
        cache_use=CacheUse(
            ledger.embeddings_computed, ledger.embeddings_reused, ledger.decodes_computed, ledger.decodes_reused
        ),
    )
