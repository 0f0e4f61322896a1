"""Helpers for the engine tests: exact comparison of record lists, the official run, call counting."""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
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

    decoder = model.mask_decoder if hasattr(model, "mask_decoder") else model.sam_mask_decoder  # SAM 2's name
    handles = [
        model.image_encoder.register_forward_hook(on_encoder),
        decoder.register_forward_hook(on_decoder),
    ]
    try:
        yield counts
    finally:
        for handle in handles:
            handle.remove()


@dataclass
class OfficialStages:
    """What the official generator's filters saw and kept, recorded from inside its own code."""

    candidates: int = 0
    stability_scores: list[np.ndarray] = field(default_factory=list)  # per batch, of the pred_iou survivors
    edge_boxes: list[np.ndarray] = field(default_factory=list)  # per batch, boxes entering the crop-edge test
    edge_kept: list[np.ndarray] = field(default_factory=list)  # per batch, not near a crop edge
    nms_calls: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = field(
        default_factory=list
    )  # boxes, scores, keep
    changed_by_cleanup: list[bool] = field(default_factory=list)
    records: list[dict[str, Any]] | None = None

    @property
    def after_pred_iou(self) -> int:
        return sum(len(s) for s in self.stability_scores)

    @property
    def after_stability(self) -> int:
        return sum(len(b) for b in self.edge_boxes)

    @property
    def after_edge(self) -> int:
        return sum(int(k.sum()) for k in self.edge_kept)


def official_stages(model, image: np.ndarray, config: AmgConfig) -> OfficialStages:
    """Run the official generator with its module's filter functions wrapped to record their inputs and outputs.

    Nothing of the pipeline is replaced: each wrapper calls the original and returns its result.
    """
    import segment_anything.automatic_mask_generator as amg_module
    from segment_anything.predictor import SamPredictor

    stages = OfficialStages()
    originals = {
        name: getattr(amg_module, name)
        for name in ("calculate_stability_score", "is_box_near_crop_edge", "batched_nms", "remove_small_regions")
    }
    predict_torch = SamPredictor.predict_torch
    pending_change: list[bool] = []

    def stability(masks, *args):
        out = originals["calculate_stability_score"](masks, *args)
        stages.stability_scores.append(out.cpu().numpy().copy())
        return out

    def near_edge(boxes, *args):
        out = originals["is_box_near_crop_edge"](boxes, *args)
        stages.edge_boxes.append(boxes.cpu().numpy().copy())
        stages.edge_kept.append(~out.cpu().numpy())
        return out

    def nms(boxes, scores, idxs, iou_threshold):
        keep = originals["batched_nms"](boxes, scores, idxs, iou_threshold=iou_threshold)
        stages.nms_calls.append(
            (boxes.cpu().numpy().copy(), scores.cpu().numpy().copy(), keep.cpu().numpy().copy(), iou_threshold)
        )
        return keep

    def small_regions(mask, area, mode):
        out, changed = originals["remove_small_regions"](mask, area, mode=mode)
        pending_change.append(changed)
        if mode == "islands":
            stages.changed_by_cleanup.append(any(pending_change))
            pending_change.clear()
        return out, changed

    def predict(self, *args, **kwargs):
        masks, iou_preds, low_res = predict_torch(self, *args, **kwargs)
        stages.candidates += masks.shape[0] * masks.shape[1]
        return masks, iou_preds, low_res

    replacements = {
        "calculate_stability_score": stability,
        "is_box_near_crop_edge": near_edge,
        "batched_nms": nms,
        "remove_small_regions": small_regions,
    }
    for name, wrapper in replacements.items():
        setattr(amg_module, name, wrapper)
    SamPredictor.predict_torch = predict  # type: ignore[method-assign]
    try:
        stages.records = official_records(model, image, config)
    finally:
        for name, original in originals.items():
            setattr(amg_module, name, original)
        SamPredictor.predict_torch = predict_torch  # type: ignore[method-assign]
    return stages
