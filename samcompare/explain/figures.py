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
STAGE_LABELS_JA = {
    "candidates": "全候補",
    "pred_iou_thresh": "pred_iou_thresh",
    "stability_score_thresh": "stability_score_thresh",
    "crop_edge": "クロップ端の除外",
    "box_nms": "クロップ内のボックス NMS",
    "crop_nms": "クロップ間の NMS",
    "small_region_nms": "小領域除去後の NMS",
    "kept": "残ったマスク",
}


def _tr(language: str, english: str, japanese: str) -> str:
    return japanese if language == "ja" else english


def setting_colour(index: int) -> str:
    """Setting `index`'s colour, the same in every figure of the app and the CLI's pages."""
    return SETTING_COLOURS[index % len(SETTING_COLOURS)]


def funnel_figure(funnel: Funnel, colour: str = "#636efa", language: str = "en") -> go.Figure:
    """One setting's funnel: candidates left after each stage, with how many that stage dropped.

    The title puts the setting's name and its counts on two lines, so six funnels side by side keep
    their titles whole.
    """
    labels = [STAGE_LABELS_JA.get(stage, stage) if language == "ja" else STAGE_LABELS[stage] for stage in funnel.stages]
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
    cleaned = funnel.config.min_mask_region_area > 0
    summary = _tr(language, f"{funnel.kept} of {len(funnel)} kept", f"{len(funnel)} 個中 {funnel.kept} 個が残る")
    if cleaned:
        summary += _tr(language, f" · clean-up changed {funnel.cleaned}", f" · 小領域除去で {funnel.cleaned} 個を修正")
    figure.update_layout(
        title={"text": f"{funnel.config.name}<br><sup>{summary}</sup>", "font": {"size": 14}},
        height=80 + 45 * len(labels),
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
    )
    return figure


def fate_histogram(
    funnel: Funnel, score: str, settings: Sequence[AmgConfig] = (), bin_size: float = 0.01, language: str = "en"
) -> go.Figure:
    """All candidates' `score` ("predicted_iou" or "stability_score") stacked by fate; every setting's threshold.

    Thresholds are dashed lines in the setting's colour, named in the legend (not written over the
    plot, where six names overlap).
    """
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
                legendgroup="fates",
            )
        )
    shapes = []
    for index, config in enumerate(settings or [funnel.config]):
        x = float(getattr(config, threshold_field))
        colour = setting_colour(index)
        line = {"color": colour, "dash": "dash", "width": 2}
        shapes.append({"type": "line", "x0": x, "x1": x, "y0": 0, "y1": 1, "yref": "paper", "line": line})
        figure.add_trace(  # the legend entry of the line: a name that never overlaps another
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line=line,
                name=_tr(language, f"{config.name}: {x:g}", f"{config.name}: {x:g}"),
                legendgroup="thresholds",
                legendgrouptitle={"text": _tr(language, "thresholds", "しきい値")},
            )
        )
    missing = int((~finite).sum())
    note = _tr(language, f" ({missing} not computed)", f"（{missing} 個は未計算）") if missing else ""
    title = _tr(language, f"{score}: all {len(values)} candidates{note}", f"{score}: 全 {len(values)} 候補{note}")
    figure.update_layout(
        title={"text": title, "font": {"size": 15}},
        barmode="stack",
        xaxis_title=score,
        yaxis_title=_tr(language, "candidates", "候補数"),
        height=420,
        shapes=shapes,
        margin={"l": 50, "r": 10, "t": 60, "b": 90},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
    )
    return figure


def sweep_heatmap(
    result: SweepResult,
    value: str = "masks",
    markers: Sequence[tuple[AmgConfig, str]] = (),
    where: dict[str, float] | None = None,
    language: str = "en",
) -> go.Figure:
    """`value` over pred_iou_thresh (x) x stability_score_thresh (y), each setting in `markers` drawn at its cell.

    The cells are square scatter markers coloured by value, not a plotly heatmap: plotly reports
    clicks on markers as selections (Streamlit returns no points for a heatmap's), so a click picks
    a cell. The marker size fills the plot's height.
    """
    grid = result.grid("pred_iou_thresh", "stability_score_thresh", value, where)
    height = 480
    margin = {"l": 60, "r": 10, "t": 50, "b": 60}
    xs, ys, values = [], [], []
    for y in grid.index:
        for x in grid.columns:
            xs.append(f"{x:g}")
            ys.append(f"{y:g}")
            values.append(float(grid.loc[y, x]))
    side = max(8.0, (height - margin["t"] - margin["b"] - 40) / max(len(grid.index), 1) * 0.92)
    if value == "masks":
        label, scale = _tr(language, "masks kept", "残るマスク数"), _tr(language, "masks", "マスク数")
    else:
        label, scale = _tr(language, "image covered (%)", "被覆率 (%)"), _tr(language, "coverage %", "被覆率 %")
    figure = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers+text",
            text=[f"{v:.0f}" if value == "masks" else f"{v:.1f}" for v in values],
            textfont={"size": 11, "color": ["white" if v < _midpoint(values) else "black" for v in values]},
            marker={
                "symbol": "square",
                "size": side,
                "color": values,
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": scale},
                "line": {"width": 0},
            },
            name="cells",
            showlegend=False,
            hovertemplate="pred_iou_thresh %{x}<br>stability_score_thresh %{y}<br>" + value + " %{text}<extra></extra>",
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
                marker={"symbol": "square-open", "size": side, "line": {"width": 3}, "color": colour},
                name=config.name,
                hovertemplate=f"{config.name}<extra></extra>",
                showlegend=True,
                legendrank=index,
            )
        )
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=[f"{v:g}" for v in grid.columns])
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=[f"{v:g}" for v in grid.index])
    figure.update_layout(
        title=_tr(
            language,
            f"{label}: {result.base.name} over pred_iou_thresh x stability_score_thresh",
            f"{label}: {result.base.name}（pred_iou_thresh × stability_score_thresh）",
        ),
        xaxis_title="pred_iou_thresh",
        yaxis_title="stability_score_thresh",
        height=height,
        margin=margin,
        plot_bgcolor="white",
        clickmode="event+select",
        dragmode=False,
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
    )
    return figure


def _midpoint(values: Sequence[float]) -> float:
    """Where Viridis turns light: text on cells above it is black, below it white."""
    if not values:
        return 0.0
    low, high = min(values), max(values)
    return low + 0.6 * (high - low)


def _nearest(values: Sequence[float], target: float) -> float:
    array = np.asarray(list(values), dtype=np.float64)
    return float(array[int(np.argmin(np.abs(array - target)))])


def sweep_curve(result: SweepResult, markers: Sequence[tuple[AmgConfig, str]] = (), language: str = "en") -> go.Figure:
    """A one-parameter sweep: masks kept (top) and coverage (bottom) against the value, each on its own axis.

    Counts get whole-number ticks and coverage a 0-100 % axis with rounded ticks, so a change of a
    tenth of a percent is not drawn as a cliff.
    """
    parameter = result.parameters[0]
    frame = result.frame.sort_values(parameter)
    masks_label, coverage_label = _tr(language, "masks", "マスク数"), _tr(language, "coverage %", "被覆率 %")
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    figure.add_trace(
        go.Scatter(x=frame[parameter], y=frame["masks"], mode="lines+markers", name=masks_label), row=1, col=1
    )
    figure.add_trace(
        go.Scatter(x=frame[parameter], y=frame["coverage_pct"], mode="lines+markers", name=coverage_label),
        row=2,
        col=1,
    )
    for config, colour in markers:
        figure.add_vline(
            x=float(getattr(config, parameter)), line_color=colour, line_dash="dash", annotation_text=config.name
        )
    most = int(frame["masks"].max()) if len(frame) else 0
    figure.update_layout(
        title=f"{parameter}: {result.base.name}",
        height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        showlegend=False,
    )
    figure.update_xaxes(title_text=parameter, row=2, col=1)
    figure.update_yaxes(
        title_text=masks_label, rangemode="tozero", tickformat="d", dtick=_nice_step(most), row=1, col=1
    )
    figure.update_yaxes(title_text=coverage_label, range=[0, 100], tickformat=".0f", dtick=25, row=2, col=1)
    return figure


def _nice_step(largest: int, ticks: int = 5) -> int:
    """A whole tick step (1, 2, 5, 10, 20, 50, ...) giving at most about `ticks` ticks up to `largest`."""
    raw = max(largest, 1) / ticks
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if magnitude * factor >= raw:
                return magnitude * factor
        magnitude *= 10


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
