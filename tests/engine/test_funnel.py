"""The funnel: every stage's count and every candidate's fate equal what the official generator's own filters do."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import OfficialStages, official_stages
from test_compare import LOW, scene

from samcompare.config import AmgConfig
from samcompare.engine import ComparisonCache, Funnel, compare, filter_setting, setting_candidates
from samcompare.engine.funnel import (
    BOX_NMS,
    CANDIDATES,
    CROP_EDGE,
    CROP_NMS,
    KEPT,
    PRED_IOU,
    SMALL_REGION_NMS,
    STABILITY,
)

FUNNEL_CONFIGS = [
    AmgConfig(name="defaults", points_per_side=8),
    AmgConfig(name="low", points_per_side=8, **LOW),
    AmgConfig(name="zero thresholds", points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0),
    AmgConfig(name="tight nms", points_per_side=8, box_nms_thresh=0.3, **LOW),
    AmgConfig(name="batch 1 strict", points_per_side=5, points_per_batch=1, pred_iou_thresh=0.9),
    AmgConfig(name="crops 1", points_per_side=6, crop_n_layers=1, **LOW),
    AmgConfig(
        name="crops 1 coco", points_per_side=6, crop_n_layers=1, crop_nms_thresh=0.4, output_mode="coco_rle", **LOW
    ),
    AmgConfig(
        name="crops 2",
        points_per_side=8,
        crop_n_layers=2,
        crop_n_points_downscale_factor=2,
        crop_overlap_ratio=0.1,
        **LOW,
    ),
    AmgConfig(name="min area", points_per_side=8, min_mask_region_area=40, output_mode="uncompressed_rle", **LOW),
    AmgConfig(
        name="min area crops",
        points_per_side=6,
        crop_n_layers=1,
        min_mask_region_area=25,
        box_nms_thresh=0.5,
        crop_nms_thresh=0.8,
        **LOW,
    ),
    AmgConfig(
        name="min area crops 2", points_per_side=4, crop_n_layers=2, min_mask_region_area=60, box_nms_thresh=0.4, **LOW
    ),
]


def stage_count(funnel: Funnel, stage: str) -> int:
    return dict(funnel.stage_counts())[stage]


def check_against_official(funnel: Funnel, official: OfficialStages, records: list, n_crops: int) -> None:
    config = funnel.config
    assert funnel.stages[0] == CANDIDATES and funnel.stages[-1] == KEPT
    assert stage_count(funnel, CANDIDATES) == official.candidates == len(funnel)
    assert stage_count(funnel, PRED_IOU) == official.after_pred_iou
    assert stage_count(funnel, STABILITY) == official.after_stability
    # Per candidate, in order: the stability scores the official code computed are those of our
    # pred_iou survivors, and the boxes entering its crop-edge test are those of our stability survivors.
    passed_iou = funnel.fates != PRED_IOU
    np.testing.assert_array_equal(np.concatenate(official.stability_scores), funnel.stability_score[passed_iou])
    passed_stability = passed_iou & (funnel.fates != STABILITY)
    crop_x0y0 = np.array([funnel.crop_boxes[c][:2] * 2 for c in funnel.crop[passed_stability]]).reshape(-1, 4)
    np.testing.assert_array_equal(np.concatenate(official.edge_boxes), funnel.box[passed_stability] - crop_x0y0)
    after_edge = passed_stability & (funnel.fates != CROP_EDGE)
    assert int(after_edge.sum()) == official.after_edge
    if n_crops > 1:
        assert stage_count(funnel, CROP_EDGE) == official.after_edge
    else:
        assert CROP_EDGE not in funnel.stages and CROP_NMS not in funnel.stages
    # Box NMS per crop: the first n_crops NMS calls, kept counts per crop.
    box_nms_calls = official.nms_calls[:n_crops]
    assert all(call[3] == config.box_nms_thresh for call in box_nms_calls)
    kept_per_crop = [len(call[2]) for call in box_nms_calls]
    passed_box_nms = after_edge & (funnel.fates != BOX_NMS)
    ours_per_crop = [int((passed_box_nms & (funnel.crop == c)).sum()) for c in range(n_crops)]
    assert ours_per_crop == kept_per_crop
    assert stage_count(funnel, BOX_NMS) == sum(kept_per_crop)
    rest = official.nms_calls[n_crops:]
    if n_crops > 1 and sum(kept_per_crop) > 0:
        crop_call, rest = rest[0], rest[1:]
        assert stage_count(funnel, CROP_NMS) == len(crop_call[2])
    if config.min_mask_region_area > 0:
        assert SMALL_REGION_NMS in funnel.stages
        if rest:
            assert len(rest) == 1 and stage_count(funnel, SMALL_REGION_NMS) == len(rest[0][2])
            assert funnel.cleaned == sum(official.changed_by_cleanup)
    assert funnel.kept == len(records)
    # Kept candidates are the result's masks, one each, with their own point and score.
    kept = np.flatnonzero(funnel.fates == KEPT)
    assert sorted(funnel.mask_id[kept].tolist()) == list(range(len(records)))
    for candidate in kept:
        record = records[int(funnel.mask_id[candidate])]
        assert record["predicted_iou"] == funnel.predicted_iou[candidate].item()
        assert record["point_coords"] == [funnel.point[candidate].tolist()]
    # Every NMS drop names a box that outranks it and overlaps it above the threshold.
    for candidate in np.flatnonzero(np.isin(funnel.fates, [BOX_NMS, CROP_NMS, SMALL_REGION_NMS])):
        other = int(funnel.suppressed_by[candidate])
        assert other >= 0 and other != candidate
        assert (
            funnel.suppression_iou[candidate]
            > {
                BOX_NMS: config.box_nms_thresh,
                CROP_NMS: config.crop_nms_thresh,
                SMALL_REGION_NMS: max(config.box_nms_thresh, config.crop_nms_thresh),
            }[funnel.fates[candidate]]
            - 1e-6
        )
        assert funnel.fate_code[other] > funnel.fate_code[candidate]  # it survived that stage
        if funnel.fates[candidate] == BOX_NMS:
            assert funnel.crop[other] == funnel.crop[candidate]
            assert funnel.predicted_iou[other] >= funnel.predicted_iou[candidate]


@pytest.mark.parametrize("image_args", [(21, 112, 128), (22, 150, 90)])
def test_funnel_counts_and_fates_equal_the_official_stages(blob_sam, image_args):
    image = scene(*image_args)
    results = compare(blob_sam, image, FUNNEL_CONFIGS)
    dropped_somewhere = set()
    for config, result in zip(FUNNEL_CONFIGS, results, strict=True):
        official = official_stages(blob_sam, image, config)
        funnel = result.funnel
        assert funnel is not None
        records = official.records if official.records is not None else []
        n_crops = len(funnel.crop_boxes)
        check_against_official(funnel, official, records, n_crops)
        dropped_somewhere |= {fate for fate in set(funnel.fates) if funnel.dropped_at(fate)}
    # The settings really exercise every stage (the clean-up's NMS: see the island model below).
    assert {PRED_IOU, STABILITY, CROP_EDGE, BOX_NMS, CROP_NMS} <= dropped_somewhere


def test_funnel_of_the_small_region_clean_up():
    """A decoder whose masks coincide once their islands are removed: the clean-up's own NMS drops some."""
    from blob_sam import build_blob_sam

    model = build_blob_sam(islands=True)
    image = scene(26, 96, 96)
    configs = [
        AmgConfig(name="min area", points_per_side=6, min_mask_region_area=60, box_nms_thresh=0.5, **LOW),
        AmgConfig(name="min area crops", points_per_side=6, crop_n_layers=1, min_mask_region_area=60, **LOW),
    ]
    for config, result in zip(configs, compare(model, image, configs), strict=True):
        funnel = result.funnel
        official = official_stages(model, image, config)
        check_against_official(funnel, official, official.records or [], len(funnel.crop_boxes))
        assert funnel.dropped_at(SMALL_REGION_NMS) > 0 and funnel.cleaned > 0
        dropped = np.flatnonzero(funnel.fates == SMALL_REGION_NMS)
        assert funnel.changed_by_cleanup[dropped].all()  # the clean-up prefers masks it did not change
        assert "(after the clean-up)" in funnel.reason(int(dropped[0]))


def test_funnel_of_the_demo_model(demo_sam):
    image = scene(23, 128, 128)
    configs = [
        AmgConfig(name="defaults", points_per_side=6),
        AmgConfig(name="crops", points_per_side=4, crop_n_layers=1, min_mask_region_area=20, **LOW),
    ]
    for config, result in zip(configs, compare(demo_sam, image, configs), strict=True):
        official = official_stages(demo_sam, image, config)
        check_against_official(result.funnel, official, official.records or [], len(result.funnel.crop_boxes))


def test_funnel_files_and_reasons(blob_sam):
    image = scene(24, 96, 112)
    config = AmgConfig(name="crops", points_per_side=6, crop_n_layers=1, min_mask_region_area=30, **LOW)
    funnel = compare(blob_sam, image, [config])[0].funnel
    frame = funnel.frame()
    assert list(frame.columns) == ["stage", "count"]
    assert frame["stage"].iloc[0] == "candidates" and frame["stage"].iloc[-1] == "kept"
    assert frame["count"].is_monotonic_decreasing
    table = funnel.table()
    assert len(table) == len(funnel) and set(table["fate"]) <= {*funnel.stages[1:]}
    assert (table["fate"] == "kept").sum() == funnel.kept
    low = table[table["fate"] == PRED_IOU].iloc[0]
    assert funnel.reason(int(low["id"])) == f"predicted_iou {low['predicted_iou']:.3f} <= 0.5"
    suppressed = table[table["fate"] == BOX_NMS].iloc[0]
    assert f"box IoU {suppressed['suppression_iou']:.2f} > 0.7" in suppressed["reason"]
    assert suppressed["reason"].startswith("suppressed by ")
    kept = table[table["fate"] == KEPT].iloc[0]
    assert kept["reason"].startswith(f"kept as mask {kept['mask_id']}")
    # Unknown numbers are NaN, not zeros.
    never = table[np.isnan(table["stability_score"])]
    assert (never["fate"] == PRED_IOU).all() and never["area"].isna().all()


def test_strict_setting_leaves_stability_unknown_until_asked(blob_sam):
    """Candidates under pred_iou_thresh are not up-scaled (as officially); completing them runs no network."""
    from engine_helpers import count_network_calls

    image = scene(25, 96, 96)
    cache = ComparisonCache()
    config = AmgConfig(points_per_side=8, pred_iou_thresh=0.95, stability_score_thresh=0.0)
    funnel = compare(blob_sam, image, [config], cache=cache)[0].funnel
    unknown = np.isnan(funnel.stability_score)
    assert unknown.any() and (funnel.fates[unknown] == PRED_IOU).all()
    with count_network_calls(blob_sam) as calls:
        everything = setting_candidates(blob_sam, image, config, floor=None, cache=cache)
    assert calls.network == 0 and everything.covers_all and everything.computed == len(everything)
    full = filter_setting(everything, config).funnel
    assert not np.isnan(full.stability_score).all()
    assert (full.area >= 0).all()
    np.testing.assert_array_equal(full.fate_code, funnel.fate_code)  # the fates do not change
    known = ~unknown
    np.testing.assert_array_equal(full.stability_score[known], funnel.stability_score[known])


def test_results_name_the_candidate_of_each_mask():
    from blob_sam import build_blob_sam

    model = build_blob_sam(islands=True)
    image = scene(27, 96, 96)
    config = AmgConfig(points_per_side=6, crop_n_layers=1, min_mask_region_area=60, **LOW)
    result = compare(model, image, [config])[0]
    funnel = result.funnel
    offsets = np.cumsum([0] + [int((funnel.crop == c).sum()) for c in range(len(funnel.crop_boxes))])
    ids = offsets[result.origins[:, 0]] + result.origins[:, 1]
    np.testing.assert_array_equal(funnel.mask_id[ids], np.arange(len(result)))
