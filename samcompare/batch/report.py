"""report.html: one self-contained page about a batch (plotly's JavaScript inlined, thumbnails as data URLs).

It holds no clock times, no timings and no random ids, so the same store always gives the same page.
"""

from __future__ import annotations

import base64
import html
import numbers
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs

from samcompare.config import AmgConfig
from samcompare.evaluation.paired import PairedComparison, format_p, paired_frame

WORST_COUNT = 5
WORST_BY = "coverage_pct"  # no ground truth: the images a setting leaves most unexplained
SUMMARY_COLUMNS = (
    "setting",
    "images",
    "done",
    "failed",
    "masks_total",
    "masks_mean",
    "masks_median",
    "masks_min",
    "masks_max",
    "coverage_pct_mean",
    "coverage_pct_median",
    "coverage_pct_min",
    "predicted_iou_mean",
    "stability_score_mean",
    "gt_images",
    "precision_50_mean",
    "recall_50_mean",
    "f1_50_mean",
    "mean_best_iou_mean",
    "ap_mean",
)
WORST_BY_TRUTH = "f1_50"  # with ground truth: the images a setting gets most wrong
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.number { text-align: right; }
td img { display: block; max-height: 96px; }
.note { color: #555; font-size: 0.9em; }
"""


def colour(index: int) -> str:
    return qualitative.Plotly[index % len(qualitative.Plotly)]


def _done(images: pd.DataFrame, setting: str) -> pd.DataFrame:
    return images[(images["setting"] == setting) & (images["status"] == "done")]


def distribution_figure(images: pd.DataFrame, configs: Sequence[AmgConfig], column: str, title: str) -> go.Figure:
    """One box per setting, every image a point."""
    figure = go.Figure()
    for index, config in enumerate(configs):
        done = _done(images, config.name)
        figure.add_trace(
            go.Box(
                y=done[column].astype(float).tolist(),
                name=config.name,
                text=done["image"].tolist(),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker_color=colour(index),
                hovertemplate="%{text}: %{y}<extra></extra>",
            )
        )
    figure.update_layout(title=title, showlegend=False, height=380, margin={"l": 50, "r": 10, "t": 50, "b": 40})
    return figure


def pair_figure(images: pd.DataFrame, configs: Sequence[AmgConfig], column: str, title: str) -> go.Figure:
    """Each image as a point: the first setting's value across, each other setting's up; the diagonal is a tie."""
    first = configs[0].name
    base = _done(images, first).set_index("image")[column].astype(float)
    figure = go.Figure()
    top = float(base.max()) if len(base) else 1.0
    for index, config in enumerate(configs[1:], start=1):
        other = _done(images, config.name).set_index("image")[column].astype(float)
        both = base.index.intersection(other.index, sort=False)
        top = max(top, float(other.max()) if len(other) else top)
        figure.add_trace(
            go.Scatter(
                x=base[both].tolist(),
                y=other[both].tolist(),
                text=list(both),
                mode="markers",
                name=config.name,
                marker={"color": colour(index), "size": 8, "opacity": 0.75},
                hovertemplate=f"%{{text}}<br>{html.escape(first)}: %{{x}}<br>{html.escape(config.name)}: %{{y}}"
                "<extra></extra>",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=[0, top], y=[0, top], mode="lines", name="equal", line={"color": "#999", "dash": "dot"}, hoverinfo="skip"
        )
    )
    figure.update_layout(
        title=title, xaxis_title=first, yaxis_title="other setting", height=420, margin={"l": 50, "r": 10, "t": 50}
    )
    return figure


def worst_images(images: pd.DataFrame, setting: str, count: int = WORST_COUNT, by: str = WORST_BY) -> pd.DataFrame:
    """The `count` done images with the lowest `by` for `setting` (ties: fewer masks, then by name)."""
    done = _done(images, setting)
    return done.sort_values([by, "masks", "image"], kind="mergesort").head(count)


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in frame.columns)
    body = "".join("<tr>" + "".join(_td(value) for value in row) + "</tr>" for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(value: object) -> str:
    numeric = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return f'<td class="number">{_cell(value)}</td>' if numeric else f"<td>{_cell(value)}</td>"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.3f}".rstrip("0").rstrip(".")  # noqa: PLR0124 - NaN test
    return html.escape(str(value))


def _thumbnail(png: bytes | None) -> str:
    if png is None:
        return ""
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _chart(figure: go.Figure, div_id: str) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False})


def _paired_section(paired: Sequence[PairedComparison]) -> list[str]:
    """Each setting against the first in words, then paired.csv's numbers."""
    if not paired:
        return []
    metric = paired[0].metric
    return [
        "<h2>Each setting against the first, image by image</h2>",
        '<p class="note">On the images with ground truth: wins, losses and ties of each image\'s '
        f"{html.escape(metric)}, the mean difference with a 95% bootstrap interval (seeded), and the p-value of "
        "Wilcoxon's signed-rank test (tied images left out).</p>",
        "<ul>" + "".join(f"<li>{html.escape(comparison.verdict())}</li>" for comparison in paired) + "</ul>",
        _table(paired_frame(paired, metric).assign(p_value=[_p_text(c.p_value) for c in paired])),
    ]


def _p_text(p_value: float) -> str:
    """0.125 as "0.125", tiny values as "< 0.001" (three decimals would show them as 0)."""
    return format_p(p_value).removeprefix("p ").removeprefix("= ")


def report_html(
    title: str,
    images: pd.DataFrame,
    summary: pd.DataFrame,
    configs: Sequence[AmgConfig],
    thumbnails: Mapping[str, bytes],
    paired: Sequence[PairedComparison] = (),
) -> str:
    """The page: settings, summary, paired verdicts, distributions, setting against setting, worst images, failures."""
    names = list(dict.fromkeys(images["image"]))
    failed = images[images["status"].str.startswith("failed")].drop_duplicates("image")
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">{len(names)} images, {len(configs)} settings, {len(failed)} failed. Made by samcompare; '
        "the masks of each image and setting are in masks/, the numbers in images.csv and summary.csv.</p>",
        "<h2>Settings</h2>",
        _table(
            pd.DataFrame(
                {
                    "setting": [config.name for config in configs],
                    "parameters (besides SAM's defaults)": [
                        config.describe_changes() or "SAM defaults" for config in configs
                    ],
                }
            )
        ),
        "<h2>Summary</h2>",
        _table(summary[[column for column in SUMMARY_COLUMNS if column in summary.columns]]),
        *_paired_section(paired),
        "<h2>Distributions per setting</h2>",
        _chart(distribution_figure(images, configs, "masks", "Masks per image"), "distribution-masks"),
        _chart(distribution_figure(images, configs, "coverage_pct", "Coverage per image (%)"), "distribution-coverage"),
    ]
    if len(configs) >= 2:
        parts += [
            "<h2>Setting against setting, image by image</h2>",
            _chart(
                pair_figure(images, configs, "masks", f"Masks: each setting against {configs[0].name}"), "pair-masks"
            ),
            _chart(
                pair_figure(images, configs, "coverage_pct", f"Coverage %: each setting against {configs[0].name}"),
                "pair-coverage",
            ),
        ]
    by_truth = WORST_BY_TRUTH in images.columns and images[WORST_BY_TRUTH].notna().any()
    if by_truth:
        parts.insert(
            parts.index("<h2>Distributions per setting</h2>") + 1,
            _chart(distribution_figure(images, configs, WORST_BY_TRUTH, "F1 at IoU 0.5 per image"), "distribution-f1"),
        )
    parts.append("<h2>Worst images for each setting</h2>")
    parts.append(
        f'<p class="note">The {WORST_COUNT} images with the lowest F1 at IoU 0.5 against their ground truth: where '
        "a setting gets most wrong.</p>"
        if by_truth
        else f'<p class="note">The {WORST_COUNT} images with the lowest coverage (the share of the image inside any '
        "mask): where a setting leaves most of the picture unexplained.</p>"
    )
    by = WORST_BY_TRUTH if by_truth else WORST_BY
    for config in configs:
        worst = worst_images(images[images[by].notna()], config.name, by=by)
        rows = "".join(
            f"<tr><td>{_thumbnail(thumbnails.get(str(name)))}</td><td>{html.escape(str(name))}</td>"
            f"{_td(int(masks))}{_td(float(coverage))}{_td(float(value)) if by_truth else ''}</tr>"
            for name, masks, coverage, value in zip(
                worst["image"], worst["masks"], worst["coverage_pct"], worst[by], strict=True
            )
        )
        extra = "<th>F1 @0.5</th>" if by_truth else ""
        parts.append(
            f"<h3>{html.escape(config.name)}</h3><table><thead><tr><th></th><th>image</th><th>masks</th>"
            f"<th>coverage %</th>{extra}</tr></thead><tbody>{rows}</tbody></table>"
        )
    if len(failed):
        parts += ["<h2>Failed files</h2>", _table(failed[["image", "status"]])]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>\n<body>\n'
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
