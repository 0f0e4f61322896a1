"""The sweep's figures: a heatmap whose cells can be clicked, curves with honest axes."""

from __future__ import annotations

import pandas as pd

from samcompare.config import AmgConfig
from samcompare.explain import SweepAxis
from samcompare.explain.figures import _nice_step, sweep_curve, sweep_heatmap
from samcompare.explain.sweep import SweepResult


def curve_result() -> SweepResult:
    values = (0.3, 0.5, 0.7, 0.9)
    frame = pd.DataFrame({"box_nms_thresh": values, "masks": [5, 5, 6, 6], "coverage_pct": [98.9, 98.95, 99.0, 99.4]})
    return SweepResult(AmgConfig(name="base"), (SweepAxis("box_nms_thresh", values),), frame, 0.01, 10, 10)


def grid_result() -> SweepResult:
    rows = [
        {"pred_iou_thresh": x, "stability_score_thresh": y, "masks": int(10 * x + y), "coverage_pct": 50.0 * x}
        for x in (0.5, 0.7, 0.9)
        for y in (0.6, 0.8)
    ]
    axes = (SweepAxis("pred_iou_thresh", (0.5, 0.7, 0.9)), SweepAxis("stability_score_thresh", (0.6, 0.8)))
    return SweepResult(AmgConfig(name="base"), axes, pd.DataFrame(rows), 0.01, 10, 10)


def test_curve_counts_get_whole_ticks_and_coverage_its_own_full_axis() -> None:
    figure = sweep_curve(curve_result())
    masks, coverage = figure.data
    assert masks.yaxis != coverage.yaxis  # two axes, one above the other
    assert figure.layout.yaxis.tickformat == "d" and figure.layout.yaxis.dtick in (1, 2)  # 5.2, 5.4 never appear
    assert figure.layout.yaxis.rangemode == "tozero"
    assert tuple(figure.layout.yaxis2.range) == (0, 100)  # 98.9 ... 99.4 does not fill the axis
    assert figure.layout.yaxis2.tickformat == ".0f"


def test_nice_steps_are_whole_numbers() -> None:
    assert [_nice_step(n) for n in (0, 4, 6, 40, 300)] == [1, 1, 2, 10, 100]


def test_heatmap_cells_are_clickable_markers_one_per_cell() -> None:
    own = AmgConfig(pred_iou_thresh=0.7, stability_score_thresh=0.8)
    figure = sweep_heatmap(grid_result(), "masks", [(own, "red")])
    cells = figure.data[0]
    assert cells.type == "scatter" and cells.marker.symbol == "square"  # plotly reports clicks on markers
    assert len(cells.x) == 6
    assert set(zip(cells.x, cells.y, strict=True)) == {(x, y) for x in ("0.5", "0.7", "0.9") for y in ("0.6", "0.8")}
    frame = grid_result().frame
    for x, y, text in zip(cells.x, cells.y, cells.text, strict=True):
        row = frame[(frame["pred_iou_thresh"] == float(x)) & (frame["stability_score_thresh"] == float(y))]
        assert text == str(int(row["masks"].iloc[0]))
    assert figure.data[1].x == ("0.7",) and figure.data[1].y == ("0.8",)  # the setting's own cell, framed
