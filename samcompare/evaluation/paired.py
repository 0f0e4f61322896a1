"""Is one setting really better than another over a set of images? Paired statistics on a per-image metric.

Both settings ran on the same images, so each image gives one difference (setting minus baseline),
and the question is about those differences:

- wins, losses, ties: images where the setting scores higher, lower, the same;
- the mean difference, with a seeded 95% bootstrap interval (scipy.stats.bootstrap, percentile
  method, 9,999 resamples of the images: the same seed gives the same interval);
- the p-value of Wilcoxon's signed-rank test (scipy.stats.wilcoxon, two-sided; tied images are
  left out as Wilcoxon does, exact for up to 50 images without equal differences, else the normal
  approximation): how likely differences at least this one-sided are if neither setting is better.

`verdict` says it in one line: "tuned beats SAM default on 41 of 48 images: F1 +0.12 [0.08, 0.16],
p < 0.001".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 9999
DEFAULT_CONFIDENCE = 0.95
TIE_TOLERANCE = 1e-12  # differences this small are float noise: a tie
PAIRED_COLUMNS = ("setting", "baseline", "images", "wins", "losses", "ties")


@dataclass(frozen=True)
class PairedComparison:
    """One setting against a baseline, image by image, on one metric (higher is better)."""

    setting: str
    baseline: str
    metric: str  # e.g. "f1_50"
    images: int  # images where both have the metric
    wins: int
    losses: int
    ties: int
    mean_delta: float  # mean of setting - baseline
    ci_low: float  # bootstrap interval of the mean difference (NaN under 2 images)
    ci_high: float
    p_value: float  # Wilcoxon signed-rank, two-sided (1 when every image ties, NaN without images)
    confidence: float = DEFAULT_CONFIDENCE

    def row(self) -> dict[str, Any]:
        """A paired.csv row (`paired_frame` gives the columns, mean_delta_<metric> among them)."""
        return {
            "setting": self.setting,
            "baseline": self.baseline,
            "images": self.images,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            f"mean_delta_{self.metric}": self.mean_delta,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
        }

    def verdict(self) -> str:
        """One line: who wins on how many images, the mean difference with its interval, the p-value."""
        if self.images == 0:
            return f"{self.setting} and {self.baseline} share no image with {metric_label(self.metric)}"
        if self.wins > self.losses:
            head = f"{self.setting} beats {self.baseline} on {self.wins} of {self.images} images"
        elif self.losses > self.wins:
            head = f"{self.setting} loses to {self.baseline} on {self.losses} of {self.images} images"
        else:
            head = f"{self.setting} and {self.baseline} are even on {self.images} images ({self.wins} wins each)"
        interval = "" if math.isnan(self.ci_low) else f" [{self.ci_low:+.2f}, {self.ci_high:+.2f}]"
        return f"{head}: {metric_label(self.metric)} {self.mean_delta:+.2f}{interval}, {format_p(self.p_value)}"


def metric_label(metric: str) -> str:
    """How a verdict names a metric column: f1_50 -> "F1", ap -> "AP"."""
    head = metric.split("_")[0]
    return {"f1": "F1", "ap": "AP", "ar": "AR", "precision": "precision", "recall": "recall"}.get(head, metric)


def format_p(p_value: float) -> str:
    if math.isnan(p_value):
        return "p n/a"
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.3f}"


def compare_paired(
    values: Sequence[float] | np.ndarray,
    baseline_values: Sequence[float] | np.ndarray,
    setting: str,
    baseline: str,
    metric: str = "f1_50",
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> PairedComparison:
    """Paired statistics of `values` against `baseline_values`, one pair per image (a pair with a NaN is dropped)."""
    from scipy import stats

    ours = np.asarray(values, dtype=np.float64).reshape(-1)
    theirs = np.asarray(baseline_values, dtype=np.float64).reshape(-1)
    if ours.shape != theirs.shape:
        raise ValueError(f"{len(ours)} values against {len(theirs)} baseline values: pairs must match")
    both = ~(np.isnan(ours) | np.isnan(theirs))
    delta = ours[both] - theirs[both]
    delta[np.abs(delta) <= TIE_TOLERANCE] = 0.0
    images = len(delta)
    wins, losses = int((delta > 0).sum()), int((delta < 0).sum())
    mean = float(delta.mean()) if images else float("nan")
    low = high = float("nan")
    if images >= 2:
        if np.all(delta == delta[0]):
            low = high = float(delta[0])  # every resample gives the same mean
        else:
            interval = stats.bootstrap(
                (delta,),
                np.mean,
                n_resamples=resamples,
                confidence_level=confidence,
                method="percentile",
                rng=np.random.default_rng(seed),
            ).confidence_interval
            low, high = float(interval.low), float(interval.high)
    if images == 0:
        p_value = float("nan")
    elif wins + losses == 0:
        p_value = 1.0  # no image tells the two apart
    else:
        p_value = float(stats.wilcoxon(delta, zero_method="wilcox", alternative="two-sided").pvalue)
    return PairedComparison(
        setting, baseline, metric, images, wins, losses, images - wins - losses, mean, low, high, p_value, confidence
    )


def paired_against_first(
    table: pd.DataFrame,
    settings: Sequence[str],
    metric: str,
    seed: int = 0,
    image_column: str = "image",
    setting_column: str = "setting",
) -> list[PairedComparison]:
    """Each of `settings[1:]` against `settings[0]`, from a long table (one row per image and setting)."""
    if len(settings) < 2:
        return []
    wide = table.pivot_table(index=image_column, columns=setting_column, values=metric, aggfunc="first", dropna=False)
    return paired_against_first_wide(wide, settings, metric, seed)


def paired_against_first_wide(
    wide: pd.DataFrame, settings: Sequence[str], metric: str, seed: int = 0
) -> list[PairedComparison]:
    """The same from a wide table: one row per image, one column of `metric` per setting."""
    if len(settings) < 2:
        return []
    baseline = settings[0]

    def column(name: str) -> np.ndarray:
        if name not in wide.columns:
            return np.full(len(wide), np.nan)
        return pd.to_numeric(wide[name], errors="coerce").to_numpy(dtype=np.float64)

    return [compare_paired(column(name), column(baseline), name, baseline, metric, seed) for name in settings[1:]]


def paired_frame(comparisons: Sequence[PairedComparison], metric: str) -> pd.DataFrame:
    """paired.csv: one row per comparison (the columns even when there is none)."""
    columns = [*PAIRED_COLUMNS, f"mean_delta_{metric}", "ci_low", "ci_high", "p_value"]
    return pd.DataFrame([comparison.row() for comparison in comparisons], columns=columns)
