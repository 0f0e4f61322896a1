"""Plotly figures of a comparison: score and area histograms with every setting overlaid, and a score scatter.

Each setting keeps one colour in every figure, and its threshold is drawn in that colour, so a
reader sees at once which masks a stricter threshold would drop. Titles are in the session's
language; callers keep the figures in the session memo.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from samcompare.engine import RunResult
from samcompare.explain.figures import setting_colour
from samcompare_app.state import tr


def _layout(figure: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    figure.update_layout(
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        barmode="overlay",
        height=360,
        margin={"l": 50, "r": 10, "t": 50, "b": 90},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    )
    return figure


def score_histogram(results: Sequence[RunResult], score: str) -> go.Figure:
    """Histogram of `score` ("predicted_iou" or "stability_score") per setting, with each setting's threshold."""
    attribute = {"predicted_iou": "predicted_ious", "stability_score": "stability_scores"}[score]
    threshold_field = {"predicted_iou": "pred_iou_thresh", "stability_score": "stability_score_thresh"}[score]
    figure = go.Figure()
    shapes: list[dict] = []
    low, high = 0.0, 1.0  # scores live in [0, 1] (predicted_iou may leave it a little)
    for index, result in enumerate(results):
        colour = setting_colour(index)
        values = np.asarray(getattr(result, attribute), dtype=np.float64)
        if values.size:
            low, high = min(low, float(values.min())), max(high, float(values.max()))
        figure.add_trace(
            go.Histogram(
                x=values,
                name=f"{result.config.name} ({len(values)})",
                marker_color=colour,
                opacity=0.55,
                xbins={"size": 0.01},
            )
        )
        threshold = float(getattr(result.config, threshold_field))
        shapes.append(_threshold_line(threshold, colour))
    figure.update_xaxes(range=[low - 0.02, high + 0.02])
    figure.update_layout(shapes=shapes)
    title = tr(f"{score} (dashed: each setting's threshold)", f"{score}（破線: 各設定のしきい値）")
    return _layout(figure, title, score, tr("masks", "マスク数"))


def _threshold_line(x: float, colour: str) -> dict:
    """A dashed vertical line over the whole plot (a plain shape: plotly's add_vline costs tens of ms)."""
    return {
        "type": "line",
        "x0": x,
        "x1": x,
        "xref": "x",
        "y0": 0,
        "y1": 1,
        "yref": "paper",
        "line": {"color": colour, "dash": "dash", "width": 2},
    }


def area_histogram(results: Sequence[RunResult]) -> go.Figure:
    """Mask areas per setting on a log scale (areas span several orders of magnitude)."""
    figure = go.Figure()
    largest = 1
    for index, result in enumerate(results):
        areas = np.asarray(result.areas(), dtype=np.float64)
        largest = max(largest, int(areas.max()) if areas.size else 1)
        figure.add_trace(
            go.Histogram(
                x=np.log10(np.maximum(areas, 1.0)),
                name=f"{result.config.name} ({len(areas)})",
                marker_color=setting_colour(index),
                opacity=0.55,
                xbins={"size": 0.1},
            )
        )
    ticks = list(range(0, int(np.ceil(np.log10(max(largest, 10)))) + 1))
    figure.update_xaxes(tickvals=ticks, ticktext=[f"{10**t:,}" for t in ticks])
    return _layout(
        figure,
        tr("mask area", "マスクの面積"),
        tr("area (pixels, log scale)", "面積（画素、対数目盛）"),
        tr("masks", "マスク数"),
    )


def score_scatter(results: Sequence[RunResult]) -> go.Figure:
    """predicted_iou against stability_score, one colour per setting."""
    figure = go.Figure()
    for index, result in enumerate(results):
        figure.add_trace(
            go.Scatter(
                x=np.asarray(result.predicted_ious, dtype=np.float64),
                y=np.asarray(result.stability_scores, dtype=np.float64),
                mode="markers",
                name=result.config.name,
                marker={"color": setting_colour(index), "size": 7, "opacity": 0.7},
            )
        )
    return _layout(
        figure,
        tr("predicted_iou vs stability_score", "predicted_iou と stability_score"),
        "predicted_iou",
        "stability_score",
    )
