"""Paired statistics between settings, checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from samcompare.evaluation.paired import compare_paired, format_p, paired_against_first, paired_frame

# Per-image F1 of a setting and of its baseline; differences 0.1, 0.2, -0.05, 0.3, 0.15 and one tie.
OURS = [0.6, 0.7, 0.5, 0.9, 0.8, 0.4]
BASE = [0.5, 0.5, 0.55, 0.6, 0.65, 0.4]


def test_counts_mean_and_wilcoxon_equal_the_hand_computation() -> None:
    result = compare_paired(OURS, BASE, "tuned", "SAM default")
    assert (result.images, result.wins, result.losses, result.ties) == (6, 4, 1, 1)
    assert result.mean_delta == pytest.approx(0.7 / 6)
    # Wilcoxon leaves the tie out: |d| ranks 2, 4, 1, 5, 3 with the loss on rank 1, so W- = 1. Under the null
    # each of the 2^5 = 32 sign patterns is equally likely; W- <= 1 in two of them (no loss, or the loss of
    # rank 1), and the two-sided exact p-value is 2 * 2 / 32.
    assert result.p_value == pytest.approx(0.125)
    assert result.ci_low < result.mean_delta < result.ci_high
    assert result.verdict() == (
        f"tuned beats SAM default on 4 of 6 images: F1 +0.12 [{result.ci_low:+.2f}, {result.ci_high:+.2f}], p = 0.125"
    )


def test_the_bootstrap_interval_of_two_images_spans_them() -> None:
    # Resampling two differences a and b gives means a, (a + b) / 2, b with chances 1/4, 1/2, 1/4:
    # the 2.5% and 97.5% percentiles are a and b themselves.
    result = compare_paired([0.4, 0.9], [0.3, 0.6], "x", "y")
    assert (result.ci_low, result.ci_high) == (pytest.approx(0.1), pytest.approx(0.3))
    # Every difference the same: every resample has that mean.
    same = compare_paired([0.5, 0.6, 0.7], [0.4, 0.5, 0.6], "x", "y")
    assert same.ci_low == pytest.approx(0.1) and same.ci_high == pytest.approx(0.1)


def test_the_interval_is_seeded_and_agrees_with_a_plain_percentile_bootstrap() -> None:
    rng = np.random.default_rng(7)
    base = rng.uniform(0.2, 0.8, 40)
    ours = np.clip(base + rng.normal(0.05, 0.1, 40), 0, 1)
    first = compare_paired(ours, base, "x", "y", seed=3)
    again = compare_paired(ours, base, "x", "y", seed=3)
    other = compare_paired(ours, base, "x", "y", seed=4)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    # By hand: resample the 40 differences with replacement, take each mean, read the 2.5% and 97.5% points.
    delta = ours - base
    means = delta[np.random.default_rng(0).integers(0, 40, size=(40000, 40))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    assert first.ci_low == pytest.approx(low, abs=0.004) and first.ci_high == pytest.approx(high, abs=0.004)


def test_ties_missing_values_and_losses() -> None:
    tied = compare_paired([0.5, 0.5], [0.5, 0.5], "x", "y")
    assert (tied.wins, tied.losses, tied.ties, tied.p_value, tied.mean_delta) == (0, 0, 2, 1.0, 0.0)
    assert tied.verdict() == "x and y are even on 2 images (0 wins each): F1 +0.00 [+0.00, +0.00], p = 1.000"
    # An image without the metric on either side is left out of the pairs.
    worse = compare_paired([0.1, float("nan"), 0.2, 0.3, 0.1, 0.0], [0.5, 0.9, float("nan"), 0.6, 0.4, 0.7], "a", "b")
    assert (worse.images, worse.losses) == (4, 4) and worse.mean_delta == pytest.approx(-1.7 / 4)
    assert worse.verdict().startswith("a loses to b on 4 of 4 images: F1 -0.42 [")
    single = compare_paired([0.7], [0.5], "a", "b")
    assert math.isnan(single.ci_low) and single.verdict() == "a beats b on 1 of 1 images: F1 +0.20, p = 1.000"
    assert format_p(0.0004) == "p < 0.001"
    with pytest.raises(ValueError, match="pairs must match"):
        compare_paired([0.1], [0.1, 0.2], "a", "b")


def test_a_long_table_gives_one_row_per_setting_against_the_first() -> None:
    rows = [{"image": f"i{i}", "setting": "base", "f1_50": b} for i, b in enumerate(BASE)]
    rows += [{"image": f"i{i}", "setting": "tuned", "f1_50": o} for i, o in enumerate(OURS)]
    rows += [{"image": "i0", "setting": "other", "f1_50": 0.9}]  # ran on one image only
    comparisons = paired_against_first(pd.DataFrame(rows), ["base", "tuned", "other"], "f1_50")
    frame = paired_frame(comparisons, "f1_50")
    assert list(frame.columns) == [
        "setting", "baseline", "images", "wins", "losses", "ties", "mean_delta_f1_50", "ci_low", "ci_high", "p_value",
    ]  # fmt: skip
    assert frame["setting"].tolist() == ["tuned", "other"] and frame["baseline"].tolist() == ["base", "base"]
    assert frame["images"].tolist() == [6, 1] and frame.loc[0, "p_value"] == pytest.approx(0.125)
    assert list(paired_frame([], "f1_75").columns)[6] == "mean_delta_f1_75"
