"""samcompare.estimate: counts the work the engine shares, and sees threshold-only changes as free."""

from __future__ import annotations

from samcompare.config import AmgConfig
from samcompare.estimate import SpeedCalibration, estimate_run, format_seconds


def test_threshold_only_change_needs_no_network() -> None:
    base = AmgConfig(points_per_side=16)
    estimate = estimate_run("vit_b", "cpu", (480, 640), [base.replace(pred_iou_thresh=0.5)], already_run=[base])
    assert estimate.network_free
    assert estimate.seconds < 1.0


def test_settings_share_one_decode() -> None:
    base = AmgConfig(points_per_side=16)
    one = estimate_run("vit_b", "cpu", (480, 640), [base])
    two = estimate_run("vit_b", "cpu", (480, 640), [base, base.replace(name="strict", pred_iou_thresh=0.98)])
    assert (one.embeddings, one.decode_batches) == (two.embeddings, two.decode_batches) == (1, 4)


def test_crops_and_points_cost_more() -> None:
    base = AmgConfig()
    cropped = base.replace(crop_n_layers=1)
    assert estimate_run("vit_h", "cpu", (768, 1024), [cropped]).embeddings == 5
    assert (
        estimate_run("vit_h", "cpu", (768, 1024), [cropped]).seconds
        > estimate_run("vit_h", "cpu", (768, 1024), [base]).seconds
    )
    assert (
        estimate_run("vit_h", "cuda", (768, 1024), [base]).seconds
        < estimate_run("vit_h", "cpu", (768, 1024), [base]).seconds
    )


def test_a_new_offset_needs_a_new_decode() -> None:
    base = AmgConfig(points_per_side=8)
    estimate = estimate_run("demo", "cpu", (128, 128), [base.replace(stability_score_offset=2.0)], [base])
    assert estimate.embeddings == 0 and estimate.decode_batches == 1


def test_point_grids_are_counted() -> None:
    grids = AmgConfig(points_per_side=None, point_grids=[[[0.5, 0.5]] * 100])
    assert estimate_run("demo", "cpu", (128, 128), [grids]).decode_batches == 2


def test_describe_reads_well() -> None:
    assert "no network" in estimate_run("demo", "cpu", (64, 64), [AmgConfig()], [AmgConfig()]).describe()
    assert format_seconds(0.2) == "under a second"
    assert format_seconds(30) == "30 s"
    assert format_seconds(600) == "10 min"


def test_the_first_run_counts_loading_and_warming_up_the_model() -> None:
    base = AmgConfig(points_per_side=16)
    warm = estimate_run("demo", "cpu", (128, 128), [base])
    cold = estimate_run("demo", "cpu", (128, 128), [base], cold=True)
    assert cold.startup_seconds > 0 and cold.seconds == warm.seconds + cold.startup_seconds
    assert "first run in this process" in cold.describe() and "first run" not in warm.describe()
    assert "最初の実行" in cold.describe("ja")
    # A threshold-only change needs no model start-up: it runs no network.
    assert estimate_run("demo", "cpu", (128, 128), [base], [base], cold=True).startup_seconds == 0


def test_the_calibration_learns_this_machines_speed_from_finished_runs() -> None:
    base = AmgConfig(points_per_side=32)
    calibration = SpeedCalibration()
    assert calibration.speed("vit_b", "cpu") == 1.0 and not calibration.is_warm("vit_b", "cpu")
    first = estimate_run("vit_b", "cpu", (480, 640), [base], cold=True)
    # It took five times the estimate (a slow, busy machine), start-up included.
    calibration.observe("vit_b", "vit_b", "cpu", first, first.startup_seconds + 5 * first.work_seconds)
    assert calibration.is_warm("vit_b", "cpu")
    speed = calibration.speed("vit_b", "cpu")
    assert 4.5 < speed < 5.5
    second = estimate_run("vit_b", "cpu", (480, 640), [base.replace(points_per_side=16)], speed=speed)
    plain = estimate_run("vit_b", "cpu", (480, 640), [base.replace(points_per_side=16)])
    assert second.seconds > 4 * plain.seconds and second.startup_seconds == 0
    # A run with no network work teaches nothing about speed; a wild one is held within the limits.
    calibration.observe("vit_b", "vit_b", "cpu", estimate_run("vit_b", "cpu", (480, 640), [base], [base]), 0.01)
    assert calibration.speed("vit_b", "cpu") == speed
    calibration.observe("vit_b", "vit_b", "cpu", second, 1e9)
    assert calibration.speed("vit_b", "cpu") <= SpeedCalibration.LIMITS[1]
