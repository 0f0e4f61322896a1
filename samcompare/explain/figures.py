"""Plotly figures of the funnel and the sweep, shared by the app and the CLI's sweep.html.

Fates keep one colour everywhere (kept green; each dropping stage its own), and every setting's
threshold is drawn in the setting's colour, so a reader sees which candidates a value would keep.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from samcompare.config import AmgConfig
from samcompare.engine import FATES, Funnel
from samcompare.engine.funnel import STAGE_LABELS
from samcompare.explain.sweep import SHORT_NAMES, SweepResult

FATE_COLOURS = {
    "kept": "#2ca02c",
    "pred_iou_thresh": "#9e9e9e",
    "stability_score_thresh": "#ff7f0e",
    "crop_edge": "#8c564b",
    "box_nms": "#d62728",
    "crop_nms": "#9467bd",
    "small_region_nms": "#e377c2",
    # The post-filters beyond the official generator.
    "max_mask_region_area": "#17becf",
    "drop_border_masks": "#bcbd22",
    "top_k": "#7f7f7f",
}
SETTING_COLOURS = qualitative.Plotly


def setting_colour(index: int) -> str:
    """Setting `index`'s colour, the same in every figure of the app and the CLI's pages."""
    return SETTING_COLOURS[index % len(SETTING_COLOURS)]


def funnel_figure(funnel: Funnel, colour: str = "#636efa") -> go.Figure:
    """One setting's funnel: candidates left after each stage, with how many that stage dropped."""
    labels = [STAGE_LABELS[stage] for stage in funnel.stages]
    counts = list(funnel.counts)
    dropped = [""] + [
        f"-{before - after}" if before > after else "" for before, after in zip(counts, counts[1:], strict=False)
    ]
    figure = go.Figure(
        go.Funnel(
            y=labels,
            x=counts,
            text=[f"{count}  {drop}".strip() for count, drop in zip(counts, dropped, strict=True)],
            textinfo="text",
            marker={"color": colour},
            connector={"line": {"color": "#cccccc"}},
        )
    )
    note = f" · clean-up changed {funnel.cleaned}" if funnel.config.min_mask_region_area > 0 else ""
    figure.update_layout(
        title=f"{funnel.config.name}: {funnel.kept} of {len(funnel)} kept{note}",
        height=60 + 45 * len(labels),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return figure


def fate_histogram(funnel: Funnel, score: str, settings: Sequence[AmgConfig] = (), bin_size: float = 0.01) -> go.Figure:
    """All candidates' `score` ("predicted_iou" or "stability_score") stacked by fate; every setting's threshold."""
    values = np.asarray(getattr(funnel, score), dtype=np.float64)
    fates = funnel.fates
    threshold_field = {"predicted_iou": "pred_iou_thresh", "stability_score": "stability_score_thresh"}[score]
    figure = go.Figure()
    finite = np.isfinite(values)
    for fate in FATES:
        chosen = finite & (fates == fate)
        if not chosen.any():
            continue
        figure.add_trace(
            go.Histogram(
                x=values[chosen],
                name=f"{fate} ({int(chosen.sum())})",
                marker_color=FATE_COLOURS[fate],
                xbins={"size": bin_size},
            )
        )
    for index, config in enumerate(settings or [funnel.config]):
        figure.add_vline(
            x=float(getattr(config, threshold_field)),
            line_color=setting_colour(index),
            line_dash="dash",
            line_width=2,
            annotation_text=config.name,
            annotation_position="top",
        )
    missing = int((~finite).sum())
    note = f" ({missing} not computed)" if missing else ""
    figure.update_layout(
        title={"text": f"{score}: all {len(values)} candidates{note}", "font": {"size": 15}},
        barmode="stack",
        xaxis_title=score,
        yaxis_title="candidates",
        height=380,
        margin={"l": 50, "r": 10, "t": 60, "b": 90},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
    )
    return figure


def sweep_heatmap(
    result: SweepResult,
    value: str = "masks",
    markers: Sequence[tuple[AmgConfig, str]] = (),
    where: dict[str, float] | None = None,
) -> go.Figure:
    """`value` over pred_iou_thresh (x) x stability_score_thresh (y), each setting in `markers` drawn at its cell."""
    grid = result.grid("pred_iou_thresh", "stability_score_thresh", value, where)
    text = grid.map(lambda v: f"{v:.0f}" if value == "masks" else f"{v:.1f}")
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"{v:g}" for v in grid.columns],
            y=[f"{v:g}" for v in grid.index],
            text=text.to_numpy(),
            texttemplate="%{text}",
            colorscale="Viridis",
            colorbar={"title": "masks" if value == "masks" else "coverage %"},
            hovertemplate="pred_iou_thresh %{x}<br>stability_score_thresh %{y}<br>" + value + " %{z}<extra></extra>",
        )
    )
    for index, (config, colour) in enumerate(markers):
        x = _nearest(grid.columns, config.pred_iou_thresh)
        y = _nearest(grid.index, config.stability_score_thresh)
        figure.add_trace(
            go.Scatter(
                x=[f"{x:g}"],
                y=[f"{y:g}"],
                mode="markers",
                marker={"symbol": "square-open", "size": 30, "line": {"width": 3}, "color": colour},
                name=config.name,
                hovertemplate=f"{config.name}<extra></extra>",
                showlegend=True,
                legendrank=index,
            )
        )
    label = "masks kept" if value == "masks" else "image covered (%)"
    figure.update_xaxes(type="category")  # the swept values, evenly spaced, whatever their step
    figure.update_yaxes(type="category")
    figure.update_layout(
        title=f"{label}: {result.base.name} over pred_iou_thresh x stability_score_thresh",
        xaxis_title="pred_iou_thresh",
        yaxis_title="stability_score_thresh",
        height=480,
        margin={"l": 60, "r": 10, "t": 50, "b": 60},
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
    )
    return figure


def _nearest(values: Sequence[float], target: float) -> float:
    array = np.asarray(list(values), dtype=np.float64)
    return float(array[int(np.argmin(np.abs(array - target)))])


def sweep_curve(result: SweepResult, markers: Sequence[tuple[AmgConfig, str]] = ()) -> go.Figure:
    """A one-parameter sweep: masks kept (left axis) and coverage (right axis) against the value."""
    parameter = result.parameters[0]
    frame = result.frame.sort_values(parameter)
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=frame[parameter], y=frame["masks"], mode="lines+markers", name="masks"))
    figure.add_trace(
        go.Scatter(x=frame[parameter], y=frame["coverage_pct"], mode="lines+markers", name="coverage %"),
        secondary_y=True,
    )
    for config, colour in markers:
        figure.add_vline(
            x=float(getattr(config, parameter)), line_color=colour, line_dash="dash", annotation_text=config.name
        )
    figure.update_layout(
        title=f"{SHORT_NAMES[parameter]}: {result.base.name}",
        xaxis_title=parameter,
        height=340,
        margin={"l": 50, "r": 50, "t": 50, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0},
    )
    figure.update_yaxes(title_text="masks", secondary_y=False)
    figure.update_yaxes(title_text="coverage %", secondary_y=True)
    return figure


def sweep_report_figures(result: SweepResult) -> list[go.Figure]:
    """What sweep.html shows: masks and coverage heatmaps per combination of the other swept values, or curves."""
    grid_axes = {"pred_iou_thresh", "stability_score_thresh"}
    if not grid_axes <= set(result.parameters):
        return [sweep_curve(result)] if len(result.parameters) == 1 else []
    others = [axis for axis in result.axes if axis.parameter not in grid_axes]
    combinations: list[dict[str, float]] = [{}]
    for axis in others:
        combinations = [{**c, axis.parameter: v} for c in combinations for v in axis.values]
    figures = []
    for where in combinations:
        suffix = ", ".join(f"{SHORT_NAMES[p]} {v:g}" for p, v in where.items())
        for value in ("masks", "coverage_pct"):
            figure = sweep_heatmap(result, value, where=where)
            if suffix:
                figure.update_layout(title=f"{figure.layout.title.text} ({suffix})")
            figures.append(figure)
    return figures


def write_sweep_html(result: SweepResult, path: str) -> None:
    """A self-contained page (plotly.js inlined) with the sweep's figures and its setting."""
    figures = sweep_report_figures(result)
    parts = [
        "<html><head><meta charset='utf-8'><title>samcompare sweep</title></head><body>",
        f"<h1>Sweep of {result.base.name}</h1>",
        f"<p>{len(result.frame)} cells from one decode of {result.candidates} candidates; "
        f"filtering every cell took {result.seconds:.2f} s.</p>",
        f"<pre>{result.base.to_json()}</pre>",
    ]
    for index, figure in enumerate(figures):
        parts.append(figure.to_html(full_html=False, include_plotlyjs=index == 0))
    parts.append("</body></html>")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))
