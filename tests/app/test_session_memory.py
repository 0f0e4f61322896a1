"""A long session's memory levels off: round after round of runs, sweeps, re-filters and evaluations on
changing images, what the session holds stops growing once it holds its last RUNS_KEPT runs.

Measured is what the session itself keeps (its session state, walked object by object, with every
array and byte string at its size), not the process's resident memory: the engine's shared cache
(bounded on its own, 1 GiB) and the allocator's habits would hide a slow leak in the noise. The
process's RSS over such a session is in the README (bench/bench_session_memory.py).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from types import FunctionType, ModuleType
from typing import Any

import numpy as np
import pandas as pd
import torch
from streamlit.testing.v1 import AppTest

from samcompare.samples import SHAPES, sample_names
from samcompare_app.state import (
    COMPLETED_FUNNELS_KEY,
    GROUND_TRUTH_KEY,
    MEMO_BYTES,
    MEMO_KEY,
    NETWORK_HISTORY_KEY,
    PER_RUN_KEYS,
    RUNS_KEPT,
    SWEEPS_KEY,
)
from tests.app.conftest import edit_settings, make_fast, run_button

ROUNDS = 9  # three times RUNS_KEPT: enough rounds to see the level
IMAGES = sample_names(SHAPES)[:4]  # in turn: each round's image differs from the one before


def session_values(at: AppTest) -> dict[str, Any]:
    """Everything the session keeps: its user keys and its widgets' values."""
    return dict(at.session_state._state.filtered_state)


def deep_size(root: Any) -> int:
    """Bytes reachable from `root`: every object once, arrays and byte strings at their full size.

    Modules, classes and functions are not followed (they belong to the process, not the session),
    nor are torch modules (a model is shared by every session).
    """
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (ModuleType, type, FunctionType, torch.nn.Module)):
            continue
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            total += item.nbytes + 112
            if item.base is not None:
                stack.append(item.base)
            continue
        if isinstance(item, torch.Tensor):
            total += item.element_size() * item.nelement()
            continue
        if isinstance(item, pd.DataFrame):
            total += int(item.memory_usage(deep=True).sum())
            continue
        total += sys.getsizeof(item)
        stack.extend(gc.get_referents(item))
    return total


def rounds(at: AppTest) -> Iterator[int]:
    """Round after round as a user works: a new image, a run, a re-filter, the sweep, the Evaluate page."""
    for round_number in range(ROUNDS):
        at.switch_page("pages/compare.py").run()
        at.selectbox(key="image_sample").set_value(IMAGES[round_number % len(IMAGES)]).run()
        run_button(at).click().run()
        edit_settings(at, {0: {"pred_iou_thresh": 0.6 + 0.01 * round_number}})  # an automatic re-filter
        at.switch_page("pages/why.py").run()
        at.button(key="sweep_button").click().run()
        at.switch_page("pages/evaluate.py").run()
        assert not at.exception, at.exception
        yield round_number


def test_what_a_session_holds_levels_off_over_many_runs(app: AppTest) -> None:
    make_fast(app, pred_iou_thresh=0.7, stability_score_thresh=0.8)
    sizes = []
    for _ in rounds(app):
        values = session_values(app)
        # The picture memo is bounded by bytes (checked below), not by runs: it is measured on its own.
        sizes.append(deep_size({key: value for key, value in values.items() if key != MEMO_KEY}))
        # Per-run results are held for the last RUNS_KEPT runs only, ground truth for their images only.
        run_ids = {key if isinstance(key, int) else key[0] for name in PER_RUN_KEYS for key in values.get(name, {})}
        assert len(run_ids) <= RUNS_KEPT
        assert len(values.get(GROUND_TRUTH_KEY, {})) <= RUNS_KEPT
        assert len(values.get(NETWORK_HISTORY_KEY, {})) <= RUNS_KEPT
        memo = values.get(MEMO_KEY, {})
        assert sum(entry[0] for entry in memo.values()) <= MEMO_BYTES
    # Every round made two runs (a press of Run and a re-filter), a sweep and funnels: without the bound
    # the session would grow by about a round's worth each round. With it, once full (after two rounds),
    # a round on an image holds what the round on the same image four rounds before held.
    cycle = len(IMAGES)
    for later in range(cycle, len(sizes)):
        assert sizes[later] <= 1.15 * sizes[later - cycle], sizes
    held = session_values(app)
    assert len(held.get(SWEEPS_KEY, {})) <= RUNS_KEPT and len(held.get(COMPLETED_FUNNELS_KEY, {})) <= RUNS_KEPT


def test_the_deep_size_sees_what_a_session_would_leak() -> None:
    """The measure can fail: a list that keeps every run's arrays grows with it."""
    kept: list[np.ndarray] = []
    sizes = []
    for _ in range(5):
        kept.append(np.zeros(100_000, dtype=np.uint8))
        sizes.append(deep_size({"runs": kept}))
    assert sizes[-1] > 4 * sizes[0] and sizes[-1] >= 500_000
