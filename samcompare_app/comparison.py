"""One comparison run as the dashboard keeps it: the image, the engine's results and their decoded masks.

No Streamlit here: a session stores a `ComparisonRun` in its own state, so runs of two sessions
never mix; the model and the engine's content-addressed cache are the only things shared.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from segment_anything.modeling import Sam

from samcompare.config import AmgConfig
from samcompare.engine import ComparisonCache, ProgressCallback, RunResult, compare
from samcompare.engine.cache import image_key
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
        return all(result.from_cache for result in self.results)


def run_comparison(
    model: Sam,
    model_name: str,
    device: str,
    image: np.ndarray,
    image_name: str,
    configs: Sequence[AmgConfig],
    cache: ComparisonCache | None = None,
    progress: ProgressCallback | None = None,
) -> ComparisonRun:
    """Run `configs` on `image` and keep the results with their masks decoded once."""
    tick = time.perf_counter()
    results = compare(model, image, list(configs), progress=progress, cache=cache)
    masks = tuple(as_run_masks(result, image.shape) for result in results)
    return ComparisonRun(
        run_id=next(_run_ids),
        image_name=image_name,
        image=image,
        image_key=image_key(image),
        model_name=model_name,
        device=device,
        results=tuple(results),
        masks=masks,
        seconds=time.perf_counter() - tick,
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
