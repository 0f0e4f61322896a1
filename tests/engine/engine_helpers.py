"""Helpers for the engine tests: exact comparison of record lists, the official run, call counting."""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from segment_anything import SamAutomaticMaskGenerator

from samcompare.config import AmgConfig


def official_records(model, image: np.ndarray, config: AmgConfig) -> list[dict[str, Any]] | None:
    """The official generator's records, or None where it raises (crop layers, nothing left)."""
    try:
        return SamAutomaticMaskGenerator(model, **config.to_kwargs()).generate(image)
    except IndexError:
        return None


def assert_same_value(expected: Any, actual: Any, where: str) -> None:
    assert type(expected) is type(actual), f"{where}: type {type(expected)} != {type(actual)}"
    if isinstance(expected, np.ndarray):
        assert expected.shape == actual.shape and expected.dtype == actual.dtype, where
        assert np.array_equal(expected, actual), f"{where}: arrays differ"
    elif isinstance(expected, dict):
        assert list(expected) == list(actual), f"{where}: keys {list(expected)} != {list(actual)}"
        for key in expected:
            assert_same_value(expected[key], actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(expected) == len(actual), f"{where}: length {len(expected)} != {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_same_value(e, a, f"{where}[{i}]")
    else:
        # Floats come from the same float32 tensors through `.item()`, so they must be equal, not close
        # (NaN, the official stability of an empty mask, equals NaN here).
        both_nan = isinstance(expected, float) and math.isnan(expected) and math.isnan(actual)
        assert expected == actual or both_nan, f"{where}: {expected!r} != {actual!r}"


def assert_records_equal(expected: list[dict[str, Any]], actual: list[dict[str, Any]], label: str = "") -> None:
    """Same records in the same order: masks pixel-identical, every value equal and of the same type."""
    assert len(expected) == len(actual), f"{label}: {len(expected)} official masks, {len(actual)} ours"
    for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
        assert_same_value(e, a, f"{label} record {i}")


@dataclass
class CallCounts:
    encoder: int = 0
    decoder: int = 0

    @property
    def network(self) -> int:
        return self.encoder + self.decoder


@contextmanager
def count_network_calls(model):
    """Count forward passes of the image encoder and mask decoder while the block runs."""
    counts = CallCounts()

    def on_encoder(*_: Any) -> None:
        counts.encoder += 1

    def on_decoder(*_: Any) -> None:
        counts.decoder += 1

    handles = [
        model.image_encoder.register_forward_hook(on_encoder),
        model.mask_decoder.register_forward_hook(on_decoder),
    ]
    try:
        yield counts
    finally:
        for handle in handles:
            handle.remove()
