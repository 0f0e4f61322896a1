"""`compare`: run several generator settings on one image, sharing every piece of work they have in common.

The stages, each a function a test can call alone: `plan_crops` (which crops, grids and batches
a setting needs), `gather` (embeddings and decoder candidates, computed once and shared),
`filter_crop` and `merge_crops` (the official per-crop and cross-crop filters), `finish_setting`
(the small-region clean-up, the post-filters beyond the official generator when a setting has
them, the result and its funnel). Per-call state lives in this call only;
the model is only read.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from segment_anything.utils.amg import MaskData

from samcompare.config import AmgConfig
from samcompare.engine.cache import ComparisonCache
from samcompare.engine.candidates import CandidateSet
from samcompare.engine.filtering import CleanupMemo, CropTrace, filter_crop, merge_crops, remove_small_regions_all
from samcompare.engine.funnel import MergedOrigin, build_funnel
from samcompare.engine.gather import (
    Progress,
    ProgressCallback,
    SettingCandidates,
    WorkLedger,
    check_image,
    gather,
)
from samcompare.engine.plan import plan_crops
from samcompare.engine.postfilters import PostFilterTrace, select
from samcompare.engine.result import CacheUse, RunResult, StageTimings
from samcompare.engine.rle import Counts, area_of
from samcompare.families import SAM, ModelFamily, family_of

# One model for every setting, or a model per setting's `model` name (None: the settings that name none).
Models = torch.nn.Module | Mapping[str | None, torch.nn.Module]


def models_of(model: Models, configs: Sequence[AmgConfig]) -> list[torch.nn.Module]:
    """The model each setting runs on; a setting whose model is not given is named in the `ValueError`."""
    if isinstance(model, torch.nn.Module):
        return [model] * len(configs)
    chosen = []
    for config in configs:
        found = model.get(config.model)
        if found is None:
            raise ValueError(f"setting {config.name!r} runs on model {config.model!r}, which was not loaded")
        chosen.append(found)
    return chosen


def compare(
    model: Models,
    image: np.ndarray,
    configs: Sequence[AmgConfig],
    progress: ProgressCallback | None = None,
    cache: ComparisonCache | None = None,
) -> list[RunResult]:
    """Masks of every setting in `configs` on `image`, each equal to its model's official generator's output.

    `image` is RGB uint8 (H, W, 3). `model` is one model for all settings, or a mapping from each
    setting's `model` name to its model (None for the settings that name none): the settings of
    one model share its encoder and decoder work. Pass a long-lived `cache` to reuse embeddings
    and decoded candidates across calls (a threshold-only change then runs no network); without
    one, work is still shared between the settings of this call. Each result carries its
    candidate funnel. A setting its model's family cannot run raises `ConfigError`.
    """
    check_image(image)
    configs = list(configs)
    if not configs:
        return []
    setting_models = models_of(model, configs)
    for config, setting_model in zip(configs, setting_models, strict=True):
        config.check_family(family_of(setting_model).name)
    cache = cache if cache is not None else ComparisonCache(max_bytes=0)
    groups: dict[int, list[int]] = {}
    for index, setting_model in enumerate(setting_models):
        groups.setdefault(id(setting_model), []).append(index)
    results: list[RunResult | None] = [None] * len(configs)
    for group_index, indices in enumerate(groups.values()):
        group_progress = progress if len(groups) == 1 else _group_progress(progress, group_index, len(groups), indices)
        group_configs = [configs[i] for i in indices]
        group_results = _compare_one_model(setting_models[indices[0]], image, group_configs, group_progress, cache)
        for index, result in zip(indices, group_results, strict=True):
            results[index] = result
    if progress is not None and len(groups) > 1:
        progress(Progress("done", len(configs) - 1, configs[-1].name, 0, 0, 0, 0, 1.0, 1.0))
    return [result for result in results if result is not None]


def _group_progress(
    progress: ProgressCallback | None, group_index: int, n_groups: int, indices: list[int]
) -> ProgressCallback | None:
    """Report one model's part of a comparison as its share of the whole bar, with the settings' own indices."""
    if progress is None:
        return None

    def report(local: Progress) -> None:
        if local.stage == "done":
            return
        done = (group_index + local.fraction) / n_groups
        progress(dataclasses.replace(local, config_index=indices[local.config_index], done=done, total=1.0))

    return report


def _compare_one_model(
    model: torch.nn.Module,
    image: np.ndarray,
    configs: list[AmgConfig],
    progress: ProgressCallback | None,
    cache: ComparisonCache,
) -> list[RunResult]:
    family = family_of(model)
    image_size = (int(image.shape[0]), int(image.shape[1]))
    plans = [plan_crops(config, image_size) for config in configs]
    per_crop: list[list[MaskData | None]] = [[None] * len(tasks) for tasks in plans]
    traces: list[list[CropTrace | None]] = [[None] * len(tasks) for tasks in plans]
    # Only the RLEs that survive a crop's NMS are kept per setting, so candidate sets can be let go.
    survivors: list[list[dict[int, Counts]]] = [[{} for _ in tasks] for tasks in plans]
    filtering = [0.0] * len(configs)

    def consume(candidates: CandidateSet, users: list[tuple[int, int]]) -> None:
        for config_index, crop_index in users:
            tick = time.perf_counter()
            data, trace = filter_crop(candidates, configs[config_index], crop_index, trace=True)
            per_crop[config_index][crop_index] = data
            traces[config_index][crop_index] = trace
            survivors[config_index][crop_index] = {ref: candidates.counts[ref] for ref in data["refs"].tolist()}
            filtering[config_index] += time.perf_counter() - tick

    with torch.inference_mode():
        ledgers, done, total = gather(model, image, configs, cache, consume, progress, float(len(configs)))
    results = []
    for config_index, config in enumerate(configs):
        ledger = ledgers[config_index]
        ledger.filtering += filtering[config_index]
        if progress is not None:
            n_crops = len(plans[config_index])
            progress(Progress("filtering", config_index, config.name, n_crops - 1, n_crops, 0, 0, done, total))
            done += 1.0
        crop_traces = [t for t in traces[config_index] if t is not None]
        crop_data = [d for d in per_crop[config_index] if d is not None]
        results.append(
            finish_setting(
                config,
                image_size,
                crop_data,
                survivors[config_index],
                ledger,
                crop_traces,
                family=family,
                notes=family.funnel_notes(model, config),
            )
        )
        per_crop[config_index] = []
        survivors[config_index] = []
        traces[config_index] = []
    if progress is not None:
        progress(Progress("done", len(configs) - 1, configs[-1].name, 0, 0, 0, 0, total, total))
    return results


def filter_setting(
    candidates: SettingCandidates,
    config: AmgConfig,
    *,
    trace: bool = True,
    cleanup_memo: CleanupMemo | None = None,
) -> RunResult:
    """The result `config` gives, filtered from `candidates` without the network, equal to the official output.

    `config` must have the candidates' plan and be served by them (`SettingCandidates.serves`).
    Without `trace` the result has no funnel (the sweep's fast path); `cleanup_memo` lets many
    calls share each mask's small-region clean-up.
    """
    problem = candidates.serves(config)
    if problem is not None:
        raise ValueError(f"{config.name!r} cannot be filtered from these candidates: {problem}")
    tick = time.perf_counter()
    crop_data: list[MaskData] = []
    crop_traces: list[CropTrace] = []
    survivors: list[dict[int, Counts]] = []
    for crop_index, crop in enumerate(candidates.crops):
        data, crop_trace = filter_crop(crop, config, crop_index, trace=trace)
        crop_data.append(data)
        if crop_trace is not None:
            crop_traces.append(crop_trace)
        survivors.append({ref: crop.counts[ref] for ref in data["refs"].tolist()})  # type: ignore[misc]
    ledger = WorkLedger(filtering=time.perf_counter() - tick, decodes_reused=len(candidates.crops))
    return finish_setting(
        config,
        candidates.image_size,
        crop_data,
        survivors,
        ledger,
        crop_traces if trace else None,
        cleanup_memo,
        family=candidates.family,
        notes=candidates.notes_for(config),
    )


def finish_setting(
    config: AmgConfig,
    image_size: tuple[int, int],
    crop_data: list[MaskData],
    survivors: list[dict[int, Counts]],
    ledger: WorkLedger,
    crop_traces: list[CropTrace] | None = None,
    cleanup_memo: CleanupMemo | None = None,
    *,
    family: ModelFamily = SAM,
    notes: tuple[str, ...] = (),
) -> RunResult:
    """After the crops: NMS across crops, the small-region clean-up, the post-filters, the result (and its funnel).

    The post-filters (`engine/postfilters.py`) run only for a setting that has them, on what the
    official generator returns, so a setting without them is exactly the official output.
    The model's `family` says whether its generator runs the clean-up at all (SAM 2's never does) and
    in which dtypes its records come; `notes` go into the funnel (what the family did before the
    thresholds).
    """
    tick = time.perf_counter()
    trace = crop_traces is not None
    origin = MergedOrigin(np.zeros(0, np.int64), np.zeros(0, np.int64))
    if trace and crop_data:
        origin = MergedOrigin(
            np.concatenate([d["crop_ids"].numpy() for d in crop_data]).astype(np.int64),
            np.concatenate([d["refs"].numpy() for d in crop_data]).astype(np.int64),
        )
    data, crop_nms = merge_crops(crop_data, config, trace=trace, float32=family.records_as_float32)
    clean_small_regions = family.cleans_small_regions(config)
    crop_ids = refs = np.zeros(0, dtype=np.int64)
    if data is None:
        counts: list[Counts] = []
        boxes = np.zeros((0, 4), dtype=np.int64)
        ious = stabilities = np.zeros(0, dtype=np.float32)
        points = np.zeros((0, 2), dtype=np.float64)
        crop_boxes = np.zeros((0, 4), dtype=np.int64)
    else:
        crop_ids, refs = data["crop_ids"], data["refs"]
        counts = [survivors[crop_id][ref] for crop_id, ref in zip(crop_ids.tolist(), refs.tolist(), strict=True)]
        boxes, ious, stabilities = data["boxes"], data["iou_preds"], data["stability_score"]
        points, crop_boxes = data["points"], data["crop_boxes"]
    filtering = ledger.filtering + time.perf_counter() - tick

    tick = time.perf_counter()
    cleanup_changed = cleanup_nms = None
    if clean_small_regions and config.min_mask_region_area > 0 and counts:
        mask_keys: list[Hashable] = list(zip(crop_ids.tolist(), refs.tolist(), strict=True))
        cleaned = remove_small_regions_all(
            counts,
            image_size,
            boxes,
            config.min_mask_region_area,
            max(config.box_nms_thresh, config.crop_nms_thresh),
            trace=trace,
            mask_keys=mask_keys,
            memo=cleanup_memo,
        )
        keep = cleaned.keep
        counts, boxes = cleaned.counts, cleaned.boxes
        ious, stabilities, points, crop_boxes = ious[keep], stabilities[keep], points[keep], crop_boxes[keep]
        crop_ids, refs = crop_ids[keep], refs[keep]
        cleanup_changed, cleanup_nms = cleaned.changed, cleaned.nms
    cleanup = time.perf_counter() - tick

    tick = time.perf_counter()
    post: PostFilterTrace | None = None
    official_areas = None
    if config.post_filtered:
        official_areas = np.array([area_of(c) for c in counts], dtype=np.int64)
        post = select(config, image_size, official_areas, np.asarray(boxes), np.asarray(ious))
        keep = post.keep
        counts = [counts[i] for i in keep.tolist()]
        boxes, ious, stabilities = boxes[keep], ious[keep], stabilities[keep]
        points, crop_boxes = points[keep], crop_boxes[keep]
        crop_ids, refs = np.asarray(crop_ids)[keep], np.asarray(refs)[keep]
    filtering += time.perf_counter() - tick

    funnel = None
    if crop_traces is not None:
        funnel = build_funnel(
            config,
            crop_traces,
            origin,
            crop_nms,
            cleanup_changed,
            cleanup_nms,
            post,
            official_areas,
            notes=notes,
            clean_small_regions=clean_small_regions,
        )
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
        funnel=funnel,
        origins=np.stack([np.asarray(crop_ids, np.int64), np.asarray(refs, np.int64)], axis=1),
    )
