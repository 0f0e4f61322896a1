"""Getting every setting's decoder candidates with the least network work: the engine's only network stage.

Work is organised by crop box: each crop's embedding is computed once, each (crop, point grid,
points_per_batch) candidate set is decoded once for all the stability offsets asked for, a
looser `pred_iou_thresh` completes a cached set from its waiting logits, and every user of a set
gets it handed over (`consume`) before the next crop is worked on, so sets can be let go early.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from samcompare.config import AmgConfig
from samcompare.engine.cache import ComparisonCache, image_key, model_key
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
from samcompare.engine.plan import CropTask, plan_crops
from samcompare.engine.rle import Counts
from samcompare.families import SAM, ModelFamily, family_of

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


@dataclass
class WorkLedger:
    """Mutable per-setting bookkeeping while a call runs: seconds per stage and what was computed or reused."""

    embedding: float = 0.0
    decoding: float = 0.0
    filtering: float = 0.0
    embeddings_computed: int = 0
    embeddings_reused: int = 0
    decodes_computed: int = 0
    decodes_reused: int = 0


# consume(candidates, users): `users` are the (setting index, crop index) pairs the set serves.
Consumer = Callable[[CandidateSet, list[tuple[int, int]]], None]


@dataclass
class _Group:
    task: CropTask
    offsets: dict[float, None] = field(default_factory=dict)
    users: list[tuple[int, int]] = field(default_factory=list)


def check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("image must be an RGB uint8 array of shape (H, W, 3)")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError("image must have at least one pixel")


def _n_batches(n_points: int, points_per_batch: int) -> int:
    return n_points // points_per_batch + int(n_points % points_per_batch != 0)


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


def gather(
    model: torch.nn.Module,
    image: np.ndarray,
    configs: Sequence[AmgConfig],
    cache: ComparisonCache,
    consume: Consumer,
    progress: ProgressCallback | None = None,
    finishing_work: float = 0.0,
) -> tuple[list[WorkLedger], float, float]:
    """Hand every crop's candidate set of every setting to `consume`, computing only what `cache` lacks.

    Each set covers its users' lowest `pred_iou_thresh` and every stability offset they use.
    Call under `torch.inference_mode()`. `finishing_work` reserves that much of the progress bar
    for the caller's own work after this returns; the bar's (done, total) are returned with the
    ledgers, so the caller can go on reporting.
    """
    image_size = (int(image.shape[0]), int(image.shape[1]))
    family = family_of(model)
    mkey = model_key(model)
    ikey = image_key(image)
    plans = [plan_crops(config, image_size) for config in configs]
    ledgers = [WorkLedger() for _ in configs]

    def embedding_key(crop_box: tuple[int, ...]) -> tuple[Any, ...]:
        return ("embedding", mkey, ikey, crop_box)

    def candidate_key(task: CropTask, config: AmgConfig) -> tuple[Any, ...]:
        decode = family.decode_key(model, config)
        return ("candidates", mkey, ikey, task.crop_box, task.grid_key, task.points_per_batch, *decode)

    # Group the work: crop box -> candidate key -> (task, offsets, users).
    crops: dict[tuple[int, ...], dict[tuple[Any, ...], _Group]] = {}
    for config_index, (config, tasks) in enumerate(zip(configs, plans, strict=True)):
        for crop_index, task in enumerate(tasks):
            group = crops.setdefault(task.crop_box, {}).setdefault(candidate_key(task, config), _Group(task))
            group.offsets[float(config.stability_score_offset)] = None
            group.users.append((config_index, crop_index))

    # Estimate the work left for the progress bar (cache peeks; eviction may make it approximate).
    total = finishing_work
    for crop_box, groups in crops.items():
        needs_embedding = False
        for key, group in groups.items():
            if key not in cache:
                total += _n_batches(len(group.task.grid), group.task.points_per_batch)
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

    for crop_box, groups in crops.items():
        embedding: Embedding | None = None
        for key, group in groups.items():
            task, offsets, users = group.task, group.offsets, group.users
            first_config, first_crop = users[0]
            decode_config = configs[first_config]  # every user has the same decode options (the key says so)
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
                    candidates, pending = complete(model, decode_config, candidates, pending, floor)
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
                    decode_config,
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
            for config_index, _ in reused_users:
                ledgers[config_index].decodes_reused += 1
            consume(candidates, users)
            del candidates
        del embedding
    return ledgers, min(done, total), total


@dataclass(frozen=True, eq=False)
class SettingCandidates:
    """Every decoder candidate of one setting's plan on one image: one `CandidateSet` per crop, in plan order.

    What the funnel, the sweep and the tuner filter again and again without the network. Any
    setting with the same plan (crops, grids, batch size) can be filtered from it, as long as its
    `pred_iou_thresh` is at or above `floor` and its `stability_score_offset` is in `offsets`.
    """

    config: AmgConfig
    image_size: tuple[int, int]
    tasks: tuple[CropTask, ...]
    crops: tuple[CandidateSet, ...]
    model: torch.nn.Module | None = field(default=None, repr=False)  # decoded by it: its family filters

    @property
    def family(self) -> ModelFamily:
        return SAM if self.model is None else family_of(self.model)

    def cleans_small_regions(self, config: AmgConfig) -> bool:
        return self.family.cleans_small_regions(config)

    def notes_for(self, config: AmgConfig) -> tuple[str, ...]:
        return () if self.model is None else self.family.funnel_notes(self.model, config)

    def __len__(self) -> int:
        return sum(len(c) for c in self.crops)

    @property
    def offsets(self) -> tuple[float, ...]:
        common = set(self.crops[0].stability) if self.crops else set()
        for crop in self.crops[1:]:
            common &= set(crop.stability)
        return tuple(sorted(common))

    @property
    def computed(self) -> int:
        """Candidates post-processed (stability, box and mask known)."""
        return sum(int((c.areas >= 0).sum()) for c in self.crops)

    @property
    def covers_all(self) -> bool:
        return all(c.floor is None for c in self.crops)

    def counts_of(self, candidate: int) -> Counts | None:
        """RLE counts of a candidate (numbered over the crops in plan order, as in `Funnel`); None: not computed."""
        for crop in self.crops:
            if candidate < len(crop):
                return crop.counts[candidate]
            candidate -= len(crop)
        raise IndexError("no such candidate")

    def serves(self, config: AmgConfig) -> str | None:
        """None when `config` can be filtered from these candidates, else why not."""
        if plan_crops(config, self.image_size) != self.tasks:
            return "it decodes other crops, point grids or batches (points_per_side, crop settings, points_per_batch)"
        if self.model is not None:
            family = self.family
            if family.decode_key(self.model, config) != family.decode_key(self.model, self.config):
                return f"it decodes otherwise ({family.label}: mask_threshold, use_m2m, multimask_output, ...)"
        if float(config.stability_score_offset) not in self.offsets:
            return f"its stability_score_offset {config.stability_score_offset:g} was not computed"
        floor = processing_floor(config.pred_iou_thresh)
        if not all(c.covers(floor) for c in self.crops):
            return f"its pred_iou_thresh {config.pred_iou_thresh:g} is below the candidates post-processed"
        return None


USE_SETTING_FLOOR = "setting"


def setting_candidates(
    model: torch.nn.Module,
    image: np.ndarray,
    config: AmgConfig,
    *,
    floor: float | None | str = USE_SETTING_FLOOR,
    offsets: Sequence[float] = (),
    cache: ComparisonCache | None = None,
    progress: ProgressCallback | None = None,
) -> SettingCandidates:
    """The candidates of `config`'s plan, post-processed down to `floor`, with stability for `offsets` too.

    `floor` is a `pred_iou_thresh` (the setting's own by default; None: every candidate, which
    costs the up-scaling the official generator skips). With a `cache` already holding the decode
    no network runs: a lower floor is completed from the waiting low-res logits. A new offset
    needs the decoder again (not the encoder).
    """
    check_image(image)
    lowest = config.pred_iou_thresh if floor == USE_SETTING_FLOOR else (0.0 if floor is None else float(floor))
    wanted = dict.fromkeys([float(config.stability_score_offset), *(float(o) for o in offsets)])
    planned = [
        config.replace(pred_iou_thresh=min(lowest, config.pred_iou_thresh), stability_score_offset=o) for o in wanted
    ]
    image_size = (int(image.shape[0]), int(image.shape[1]))
    collected: dict[int, CandidateSet] = {}

    def keep(candidates: CandidateSet, users: list[tuple[int, int]]) -> None:
        for config_index, crop_index in users:
            if config_index == 0:
                collected[crop_index] = candidates

    with torch.inference_mode():
        gather(model, image, planned, cache if cache is not None else ComparisonCache(0), keep, progress)
    tasks = plan_crops(config, image_size)
    if progress is not None:
        progress(Progress("done", 0, config.name, 0, 0, 0, 0, 1.0, 1.0))
    return SettingCandidates(config, image_size, tasks, tuple(collected[i] for i in range(len(tasks))), model)
