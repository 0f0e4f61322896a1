"""The machinery behind the demo SAM's quality bar (`samcompare.demo.evaluate`).

The bar itself (>= 80% of held-out shapes at default settings, >= 90% at thresholds 0.5) is not
asserted yet: the committed demo weights are an interim checkpoint that does not reach it.
"""

import numpy as np
import pytest

from samcompare.config import AmgConfig
from samcompare.demo import evaluate
from samcompare.demo.evaluate import _iou_matrix, load_heldout, shape_recall
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
    if expect_all:
        assert result.matched == total and result.precision == 1.0 and result.mean_best_iou == 1.0
    else:
        assert result.matched < total and result.mean_best_iou < 1.0


def test_demo_model_runs_through_the_official_generator():
    model = load_model("demo", device="cpu")
    scene = load_heldout()[0]
    result = shape_recall(model, [scene], AmgConfig(points_per_side=8, pred_iou_thresh=0.0, stability_score_thresh=0.0))
    assert result.shapes == len(scene.object_ids())
    assert result.masks >= 1
