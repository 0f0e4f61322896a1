import numpy as np
import pytest
import torch
from torchvision.ops.boxes import batched_nms, box_iou

from samcompare.engine.filtering import box_iou_np, trace_nms


def _reference_trace(boxes: torch.Tensor, scores: torch.Tensor, keep: torch.Tensor, threshold: float):
    """The trace in torch, as the engine first computed it: the first earlier kept box over the threshold."""
    n = len(boxes)
    kept = np.zeros(n, dtype=bool)
    kept[keep.numpy()] = True
    dropped, kept_index = np.flatnonzero(~kept), np.flatnonzero(kept)
    order = torch.sort(scores, descending=True, stable=True).indices.numpy()
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    ious = box_iou(boxes[dropped], boxes[kept_index]).numpy()
    earlier = rank[kept_index][None, :] < rank[dropped][:, None]
    over = (ious > threshold) & earlier
    first = np.where(over, rank[kept_index][None, :], n).argmin(axis=1)
    rows = np.arange(len(dropped))
    choice = np.where(over[rows, first], first, np.where(earlier, ious, -1.0).argmax(axis=1))
    return kept_index[choice], ious[rows, choice], dropped


def _boxes(rng: np.random.Generator, n: int, whole: bool) -> np.ndarray:
    corner = rng.uniform(0, 500, (n, 2))
    size = rng.uniform(0, 200, (n, 2))
    boxes = np.concatenate([corner, corner + size], axis=1)
    if whole:
        boxes = np.round(boxes)
    boxes[: n // 10] = boxes[n // 10 : 2 * (n // 10)]  # exact duplicates
    boxes[-3:, 2:] = boxes[-3:, :2]  # empty boxes
    return boxes.astype(np.float32)


@pytest.mark.parametrize("whole", [True, False])
@pytest.mark.parametrize("threshold", [0.3, 0.7, 0.95])
def test_nms_trace_names_the_box_that_suppressed_each_dropped_one(whole, threshold):
    rng = np.random.default_rng(int(threshold * 100) + whole)
    boxes = torch.from_numpy(_boxes(rng, 900, whole))
    scores = torch.from_numpy(np.round(rng.uniform(0, 1, 900), 2).astype(np.float32))  # many ties
    keep = batched_nms(boxes, scores, torch.zeros(900), threshold)
    trace = trace_nms(boxes, scores, keep, threshold)
    suppressor, iou, dropped = _reference_trace(boxes, scores, keep, threshold)
    assert len(dropped) > 50 and len(keep) > 50
    assert np.array_equal(trace.keep, keep.numpy()) and trace.kept.sum() == len(keep)
    assert np.array_equal(trace.suppressor[dropped], suppressor) and (trace.suppressor[trace.kept] == -1).all()
    assert np.array_equal(trace.iou[dropped], iou) and np.isnan(trace.iou[trace.kept]).all()
    assert trace.kept[trace.suppressor[dropped]].all()


def test_box_iou_gives_torchvisions_floats():
    rng = np.random.default_rng(3)
    a, b = _boxes(rng, 120, False), _boxes(rng, 80, True)
    expected = box_iou(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    assert np.array_equal(box_iou_np(a, b), expected, equal_nan=True)


def test_nothing_dropped_or_nothing_kept():
    boxes = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8])
    trace = trace_nms(boxes, scores, batched_nms(boxes, scores, torch.zeros(2), 0.7), 0.7)
    assert trace.kept.all() and (trace.suppressor == -1).all() and np.isnan(trace.iou).all()
    empty = trace_nms(torch.zeros((0, 4)), torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.7)
    assert len(empty.kept) == 0 and len(empty.suppressor) == 0
