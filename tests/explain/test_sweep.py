"""The sweep: every cell equals an official generator run, from one decode, without the network."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import count_network_calls, official_records

from samcompare.config import AmgConfig
from samcompare.demo.shapes import generate_scene
from samcompare.engine import ComparisonCache, compare, setting_candidates
from samcompare.engine.rle import union_area
from samcompare.explain import SweepAxis, SweepError, parse_values, run_sweep, sweep, sweep_floor
from samcompare.results import summarize_run


def scene(seed: int, height: int, width: int) -> np.ndarray:
    return generate_scene(np.random.default_rng(seed), height, width).image


def official_count_and_coverage(model, image, config) -> tuple[int, float]:
    records = official_records(model, image, config) or []
    coverage = summarize_run(records, image.shape).coverage_pct if records else 0.0
    return len(records), coverage


@pytest.mark.parametrize(
    "base",
    [
        AmgConfig(name="plain", points_per_side=6),
        AmgConfig(name="crops and min area", points_per_side=5, crop_n_layers=1, min_mask_region_area=60),
    ],
    ids=lambda c: c.name,
)
def test_every_cell_equals_an_official_run(island_sam, base):
    image = scene(31, 96, 112)
    axes = [SweepAxis("pred_iou_thresh", (0.0, 0.6, 0.9)), SweepAxis("stability_score_thresh", (0.0, 0.7, 0.95))]
    result = run_sweep(island_sam, image, base, axes)
    assert len(result.frame) == 9 and list(result.frame.columns) == [*result.parameters, "masks", "coverage_pct"]
    for row in range(len(result.frame)):
        config = result.config_at(row)
        masks, coverage = official_count_and_coverage(island_sam, image, config)
        assert result.frame["masks"].iloc[row] == masks, config.name
        assert result.frame["coverage_pct"].iloc[row] == pytest.approx(coverage, abs=1e-9), config.name
    assert result.frame["masks"].nunique() > 3  # the thresholds really change the outcome


def test_nms_and_min_area_axes_equal_official_runs(island_sam):
    image = scene(32, 96, 96)
    base = AmgConfig(points_per_side=6, crop_n_layers=1, pred_iou_thresh=0.5, stability_score_thresh=0.5)
    result = run_sweep(island_sam, image, base, [SweepAxis("box_nms_thresh", (0.3, 0.7, 1.0))])
    area = run_sweep(island_sam, image, base, [SweepAxis("min_mask_region_area", (0, 30, 60, 200))])
    for sweep_result in (result, area):
        for row in range(len(sweep_result.frame)):
            config = sweep_result.config_at(row)
            assert sweep_result.frame["masks"].iloc[row] == official_count_and_coverage(island_sam, image, config)[0]
    assert result.frame["masks"].is_monotonic_increasing and result.frame["masks"].nunique() >= 2
    assert area.frame["masks"].nunique() >= 2


def test_one_decode_serves_the_whole_sweep(blob_sam):
    image = scene(33, 96, 96)
    cache = ComparisonCache()
    base = AmgConfig(points_per_side=8)
    compare(blob_sam, image, [base], cache=cache)  # the comparison the user ran
    axes = [
        SweepAxis.linspace("pred_iou_thresh", 0.3, 0.98, 5),
        SweepAxis.linspace("stability_score_thresh", 0.5, 0.98, 4),
    ]
    with count_network_calls(blob_sam) as calls:
        result = run_sweep(blob_sam, image, base, axes, cache=cache)
    assert calls.network == 0  # lower thresholds are completed from the cached low-res logits
    assert len(result.frame) == 20 and result.candidates == 8 * 8 * 3
    # The current setting's cell is the comparison's own result.
    own = result.frame[
        np.isclose(result.frame["pred_iou_thresh"], 0.3) & np.isclose(result.frame["stability_score_thresh"], 0.98)
    ]
    assert len(own) == 1


def test_union_area_equals_decoded_coverage(blob_sam):
    image = scene(34, 80, 96)
    result = compare(blob_sam, image, [AmgConfig(points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0)])[
        0
    ]
    covered = np.zeros(image.shape[:2], dtype=bool)
    for mask in result.masks():
        covered |= mask
    assert union_area(result.counts) == int(covered.sum()) > 0
    assert union_area(result.counts[:1]) == result.areas()[0]
    assert union_area(()) == 0


def test_values_parse_and_bad_values_say_why():
    assert parse_values("pred_iou_thresh", "0.5,0.7, 0.9") == (0.5, 0.7, 0.9)
    assert parse_values("pred_iou_thresh", "0.5:0.9:5") == (0.5, 0.6, 0.7, 0.8, 0.9)
    assert parse_values("min_mask_region_area", "0:100:3") == (0.0, 50.0, 100.0)
    with pytest.raises(SweepError, match="start:stop:count"):
        parse_values("pred_iou_thresh", "0.5:0.9")
    with pytest.raises(SweepError, match="must be in"):
        SweepAxis("stability_score_thresh", (0.5, 1.5))
    with pytest.raises(SweepError, match="cannot be swept"):
        SweepAxis("points_per_side", (16.0,))
    assert sweep_floor(AmgConfig(), [SweepAxis("pred_iou_thresh", (0.4, 0.9))]) == 0.4
    assert sweep_floor(AmgConfig(), [SweepAxis("pred_iou_thresh", (0.0, 0.9))]) is None
    assert sweep_floor(AmgConfig(pred_iou_thresh=0.7), []) == 0.7


def test_candidates_that_do_not_reach_a_cell_are_refused(blob_sam):
    image = scene(35, 64, 64)
    candidates = setting_candidates(blob_sam, image, AmgConfig(points_per_side=4, pred_iou_thresh=0.9))
    with pytest.raises(ValueError, match="pred_iou_thresh 0.5 is below"):
        sweep(candidates, [SweepAxis("pred_iou_thresh", (0.5, 0.9))])
    with pytest.raises(ValueError, match="other crops"):
        sweep(candidates, [SweepAxis("pred_iou_thresh", (0.9,))], base=AmgConfig(points_per_side=5))


def test_post_filters_hold_in_every_cell_and_top_k_sweeps(blob_sam):
    """Cells of a base with post-filters beyond the official generator equal its output filtered by them."""
    from samcompare.engine.postfilters import official_then_post_filters

    image = scene(36, 96, 112)
    base = AmgConfig(points_per_side=6, max_mask_region_area="8%", drop_border_masks=True, pred_iou_thresh=0.5)
    grid = run_sweep(
        blob_sam, image, base, [SweepAxis("stability_score_thresh", (0.0, 0.8)), SweepAxis("top_k", (2, 5, 50))]
    )
    for row in range(len(grid.frame)):
        config = grid.config_at(row)
        assert config.max_mask_region_area is not None and config.drop_border_masks
        assert grid.frame["masks"].iloc[row] == len(official_then_post_filters(blob_sam, image, config)), config.name
    assert set(grid.frame["masks"]) >= {2, 5}
    assert parse_values("top_k", "1:10:4") == (1.0, 4.0, 7.0, 10.0)
    with pytest.raises(SweepError, match="at least 1"):
        SweepAxis("top_k", (0,))
