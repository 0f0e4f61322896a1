import numpy as np
import pytest

from samcompare.config import AmgConfig
from samcompare.results.stats import MASK_TABLE_COLUMNS, comparison_table, mask_count, mask_table, summarize_run


def test_mask_table_has_one_row_per_mask_with_record_numbers(scene_masks, make_records):
    records = make_records(scene_masks, "coco_rle")
    table = mask_table(records)
    assert list(table.columns) == list(MASK_TABLE_COLUMNS)
    assert table["id"].tolist() == list(range(len(records)))
    assert table["area"].tolist() == [r["area"] for r in records]
    assert table.loc[2, ["bbox_x", "bbox_y", "bbox_w", "bbox_h"]].tolist() == records[2]["bbox"]
    assert table.loc[1, "point_x"] == records[1]["point_coords"][0][0]
    assert table["crop_w"].tolist() == [128] * len(records)
    assert mask_table(records, [3, 1])["id"].tolist() == [3, 1]


def test_summary_counts_coverage_and_overlap_pixels(scene_masks, make_records):
    summary = summarize_run(make_records(scene_masks, "uncompressed_rle"))
    stacked = np.stack(scene_masks).sum(axis=0)
    pixels = stacked.size
    assert summary.mask_count == len(scene_masks)
    assert summary.coverage_pct == pytest.approx(100 * np.count_nonzero(stacked) / pixels)
    assert summary.overlap_pct == pytest.approx(100 * np.count_nonzero(stacked >= 2) / pixels)
    assert summary.overlap_pct > 0
    assert summary.coverage_pct + summary.unlabelled_pct == pytest.approx(100)
    areas = [int(m.sum()) for m in scene_masks]
    assert summary.area_median == pytest.approx(np.median(areas))
    assert summary.area_min == min(areas) and summary.area_max == max(areas)
    assert summary.run_seconds is None and summary.cache is None


def test_an_engine_result_is_summarised_from_its_rle_as_its_records_are_from_pixels(
    scene_masks, make_records, make_run_result
):
    from samcompare.config import AmgConfig

    result = make_run_result(scene_masks, AmgConfig())
    from_rle = summarize_run(result)
    from_pixels = summarize_run(make_records(scene_masks, "binary_mask"))
    assert (from_rle.coverage_pct, from_rle.overlap_pct) == (from_pixels.coverage_pct, from_pixels.overlap_pct)
    assert from_rle.overlap_pct > 0
    single = summarize_run(make_run_result(scene_masks[:1], AmgConfig()))
    assert single.overlap_pct == 0 and single.coverage_pct == pytest.approx(100 * scene_masks[0].mean())


def test_empty_run_summary(make_records):
    summary = summarize_run([], image_shape=(8, 8))
    assert summary.mask_count == 0 and summary.unlabelled_pct == 100 and np.isnan(summary.area_median)


def test_comparison_table_one_row_per_setting_with_timing_and_cache(scene_masks, make_run_result, tmp_path):
    default = make_run_result(scene_masks, AmgConfig(), total_seconds=2.0)
    strict = make_run_result(scene_masks[:3], AmgConfig(name="strict", pred_iou_thresh=0.98), total_seconds=0.25)
    table = comparison_table([default, strict])
    assert table["setting"].tolist() == ["SAM default", "strict"]
    assert table["mask_count"].tolist() == [len(scene_masks), 3]
    assert table["run_seconds"].tolist() == [2.0, 0.25]
    assert table["from_cache"].tolist() == [False, False]
    assert "decodes 2 computed/1 reused" in table.loc[0, "cache"]
    assert table["parameters"].tolist() == ["(SAM defaults)", "pred_iou_thresh=0.98"]
    table.to_csv(tmp_path / "t.csv", index=False)
    assert (tmp_path / "t.csv").read_text().startswith("setting,model,mask_count,")
    on_models = comparison_table([make_run_result(scene_masks, AmgConfig(model="minisam"), total_seconds=1.0)])
    assert on_models["model"].tolist() == ["minisam"] and table["model"].tolist() == ["", ""]


def test_mask_count_reads_as_a_sentence():
    assert [mask_count(n) for n in (0, 1, 2)] == ["0 masks", "1 mask", "2 masks"]
