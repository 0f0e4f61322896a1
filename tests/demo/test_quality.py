"""The demo SAM's quality bar on the held-out scenes, and the machinery that measures it.

The bar: with the official generator, >= 80% of held-out shapes matched (IoU >= 0.75) at the
default settings, >= 90% at thresholds 0.5, and a stricter pred_iou_thresh trading masks for
precision. The README's table comes from the same function (`python -m samcompare.demo.evaluate`).
"""

import numpy as np
import pytest

from samcompare.config import AmgConfig
from samcompare.demo import evaluate
from samcompare.demo.evaluate import (
    QUALITY_SETTINGS,
    ShapeRecall,
    _iou_matrix,
    load_heldout,
    shape_recall,
    shape_recalls,
)
from samcompare.models import load_model


def test_heldout_set_is_present_and_varied():
    scenes = load_heldout()
    assert len(scenes) >= 10
    assert sum(len(s.object_ids()) for s in scenes) >= 50
    assert {s.image.shape[:2] for s in scenes} >= {(128, 128), (96, 160), (256, 192)}


def test_iou_matrix_is_exact():
    a = np.zeros((2, 4, 4), bool)
    a[0, :2, :2] = True  # 4 px
    a[1] = True  # 16 px
    b = np.zeros((1, 4, 4), bool)
    b[0, :2, :] = True  # 8 px
    assert np.allclose(_iou_matrix(a, b), [[4 / 8], [8 / 16]])


class _OracleGenerator:
    """Returns the ground truth itself, optionally eroded: recall must follow mask quality."""

    scene_masks: list[np.ndarray] = []
    shrink = 0

    def __init__(self, model, **kwargs):
        pass

    def generate(self, image):
        import cv2

        masks = self.scene_masks.pop(0)
        kernel = np.ones((3, 3), np.uint8)
        return [
            {"segmentation": cv2.erode(m.astype(np.uint8), kernel, iterations=self.shrink).astype(bool)} for m in masks
        ]


@pytest.mark.parametrize(("shrink", "expect_all"), [(0, True), (3, False)])
def test_shape_recall_counts_matches(monkeypatch, shrink, expect_all):
    scenes = load_heldout()[:3]
    _OracleGenerator.scene_masks = [[*s.object_masks(), s.labels == 0] for s in scenes]
    _OracleGenerator.shrink = shrink
    monkeypatch.setattr(evaluate, "SamAutomaticMaskGenerator", _OracleGenerator)
    result = shape_recall(None, scenes, AmgConfig())
    total = sum(len(s.object_ids()) for s in scenes)
    assert result.shapes == total
    assert result.masks == total + len(scenes)
    assert len(result.shape_fractions) == len(result.shape_best_ious) == total
    assert sum(n for _, _, n in result.by_size()) == total
    if expect_all:
        assert result.matched == total and result.precision == 1.0 and result.mean_best_iou == 1.0
    else:
        assert result.matched < total and result.mean_best_iou < 1.0


def test_recall_by_size_groups_shapes_by_their_share_of_the_image():
    result = ShapeRecall(
        setting="s",
        shapes=4,
        matched=2,
        mean_best_iou=0.79,
        masks=4,
        masks_on_a_region=4,
        shape_fractions=(0.005, 0.02, 0.03, 0.2),
        shape_best_ious=(0.8, 0.7, 0.9, 0.74),
    )
    assert result.by_size() == [("< 1%", 1, 1), ("1%-5%", 1, 2), (">= 5%", 0, 1)]


def test_demo_model_runs_through_the_official_generator():
    model = load_model("demo", device="cpu")
    scene = load_heldout()[0]
    config = AmgConfig(points_per_side=8, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    result = shape_recall(model, [scene], config)
    assert result.shapes == len(scene.object_ids())
    assert result.masks >= 1
    assert shape_recalls(model, [scene], [config])[config.name] == result  # the engine's figures are the same


@pytest.fixture(scope="module")
def quality() -> dict[str, ShapeRecall]:
    model = load_model("demo", device="cpu")
    scenes = load_heldout()
    return shape_recalls(model, scenes, QUALITY_SETTINGS)  # one decode per scene for the four settings


# The bar of issue #2 is not reached yet (README, "The demo SAM"). Strict: once the weights reach
# it these tests pass, pytest reports the pass as a failure, and the markers must go.
NOT_YET = pytest.mark.xfail(strict=True, reason="demo SAM below the quality bar (issue #2)")


@NOT_YET
def test_demo_model_finds_most_shapes_at_the_default_settings(quality):
    assert quality["SAM default"].recall >= 0.8


@NOT_YET
def test_demo_model_finds_nearly_all_shapes_at_thresholds_half(quality):
    assert quality["thresholds 0.5"].recall >= 0.9


def test_demo_model_keeps_the_quality_it_has(quality):
    """A floor under the committed weights (35% and 67% when they were trained): retraining must not lose ground."""
    assert quality["SAM default"].recall >= 0.32
    assert quality["thresholds 0.5"].recall >= 0.63
    assert quality["thresholds 0.5"].mean_best_iou >= 0.75


def test_raising_pred_iou_thresh_trades_masks_for_precision(quality):
    default, strict, strictest = (
        quality["SAM default"],
        quality["pred_iou_thresh 0.95"],
        quality["pred_iou_thresh 0.98"],
    )
    assert default.masks > strict.masks > strictest.masks > 0
    assert strictest.precision >= strict.precision >= default.precision
