"""The store keeps runs whole: results read back equal the engine's, images once, deletes tidy up, errors are clear."""

from __future__ import annotations

import dataclasses
import math
import os
import sqlite3
from contextlib import contextmanager

import numpy as np
import pytest

from samcompare.config import AmgConfig
from samcompare.demo.shapes import generate_scene
from samcompare.engine import compare
from samcompare.results.stats import summarize_run
from samcompare.store import ResultStore, StoreError, default_store_path
from tests.engine.engine_helpers import assert_records_equal
from tests.store.store_writer import synthetic_image, synthetic_result

LOW = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}
CONFIGS = [
    AmgConfig(name="binary", points_per_side=6, **LOW),
    AmgConfig(name="uncompressed", points_per_side=6, output_mode="uncompressed_rle", **LOW),
    AmgConfig(name="coco", points_per_side=6, output_mode="coco_rle", pred_iou_thresh=0.5),
    AmgConfig(name="min area", points_per_side=6, min_mask_region_area=30, **LOW),
    AmgConfig(name="crops", points_per_side=4, crop_n_layers=1, **LOW),
    # Batches of one point, strict: some batches are empty and the crop boxes become float32.
    AmgConfig(name="batch 1 strict", points_per_side=4, points_per_batch=1, pred_iou_thresh=0.9),
    AmgConfig(name="nothing", points_per_side=4, pred_iou_thresh=2.0),
]


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return generate_scene(np.random.default_rng(7), 72, 88).image


@pytest.fixture(scope="module")
def results(demo_sam, image):  # noqa: ANN001, ANN201
    return compare(demo_sam, image, CONFIGS)


def test_results_read_back_give_the_same_records_dtypes_and_numbers(tmp_path, image, results) -> None:  # noqa: ANN001
    assert len(results[-1]) == 0 and len(results[0]) > 0
    store = ResultStore(tmp_path / "s.db")
    run_id = store.add_run(image, "scene.png", "demo", "cpu", results, seconds=1.5)
    stored = store.load_run(run_id)
    assert np.array_equal(stored.pixels, image) and stored.pixels.dtype == np.uint8
    assert stored.header.image_name == "scene.png" and stored.header.seconds == 1.5
    assert (stored.header.width, stored.header.height) == (88, 72)
    assert (stored.header.model, stored.header.device, stored.header.source) == ("demo", "cpu", "app")
    assert len(stored.results) == len(results)
    for original, read in zip(results, stored.results, strict=True):
        loaded = read.result
        assert loaded.config == original.config
        assert loaded.image_shape == original.image_shape
        assert loaded.timings == original.timings and loaded.cache_use == original.cache_use
        for name in ("boxes", "predicted_ious", "stability_scores", "point_coords", "crop_boxes"):
            assert getattr(loaded, name).dtype == getattr(original, name).dtype, name
        assert [c.dtype for c in loaded.counts] == [c.dtype for c in original.counts]
        assert_records_equal(original.records, loaded.records, original.config.name)
        expected = summarize_run(original).as_row()
        for key, value in expected.items():
            if isinstance(value, float) and math.isnan(value):
                assert read.statistics[key] is None, key  # NaN is stored as JSON null
            else:
                assert read.statistics[key] == value, key
        assert read.metrics is None
    header = store.runs()[0]
    assert [s.name for s in header.settings] == [c.name for c in CONFIGS]
    assert [s.mask_count for s in header.settings] == [len(r) for r in results]
    assert store.thumbnail(header.image_key).shape[2] == 3


def test_runs_are_listed_newest_first_and_an_image_is_stored_once(tmp_path) -> None:  # noqa: ANN001
    store = ResultStore(tmp_path / "s.db")
    first = store.add_run(synthetic_image(1), "one.png", "demo", "cpu", [synthetic_result(1)])
    second = store.add_run(synthetic_image(2), "two.png", "demo", "cpu", [synthetic_result(2)], source="batch")
    third = store.add_run(synthetic_image(1), "one again.png", "vit_b", "cuda", [synthetic_result(3)])
    assert [h.run_id for h in store.runs()] == [third, second, first]
    assert [h.run_id for h in store.runs(source="batch")] == [second]
    assert [h.run_id for h in store.runs(limit=1)] == [third]
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 2
    assert store.runs()[0].image_name == "one again.png"

    assert store.delete_run(first)
    assert not store.delete_run(first)
    with sqlite3.connect(store.path) as connection:  # still used by the third run
        assert connection.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 2
    store.delete_run(third)
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 1
        assert connection.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 1
    assert [h.run_id for h in store.runs()] == [second]


def test_a_run_stored_again_reuses_the_encoded_image_and_packed_results_of_the_same_objects(tmp_path) -> None:  # noqa: ANN001
    """A re-filter stores the same image and its unchanged results again: nothing is encoded twice."""
    from samcompare.store.records import RunRecord, pack_masks

    image, kept, changed = synthetic_image(4), synthetic_result(4, "kept"), synthetic_result(5, "changed")
    first = RunRecord.from_results(image, "a.png", "demo", "cpu", [kept, changed])
    second = RunRecord.from_results(image.copy(), "a.png", "demo", "cpu", [kept, synthetic_result(5, "changed")])
    assert second.image.pixels_png is first.image.pixels_png  # same pixels: the PNG made once
    assert second.results[0].masks_npz is first.results[0].masks_npz  # same result object: packed once
    assert second.results[1].masks_npz is not first.results[1].masks_npz  # a new result is packed anew
    assert second.results[0].statistics == summarize_run(kept).as_row()
    assert second.results[0].masks_npz == pack_masks(kept)
    store = ResultStore(tmp_path / "s.db")
    run_id = store.add_record(second)
    assert [stored.result.config.name for stored in store.load_run(run_id).results] == ["kept", "changed"]


def test_metrics_are_null_until_set(tmp_path) -> None:  # noqa: ANN001
    store = ResultStore(tmp_path / "s.db")
    run_id = store.add_run(synthetic_image(1), "a.png", "demo", "cpu", [synthetic_result(1), synthetic_result(2)])
    first, second = store.load_run(run_id).results
    metrics = {"setting": "synthetic", "gt_objects": 4, "precision_50": 0.5, "ap": float("nan")}
    store.set_metrics(first.result_id, metrics)
    first, second = store.load_run(run_id).results
    assert first.metrics == {**metrics, "ap": None} and second.metrics is None
    table = store.results_table()
    assert table["metrics"].tolist() == [{**metrics, "ap": None}, None]
    from samcompare.store import VALUES, across_images

    key = table["parameters_key"].iloc[0]
    assert across_images(table, [key], VALUES["F1 at IoU 0.5 (with ground truth)"]).iloc[0, -1] is None
    store.set_metrics(first.result_id, {**metrics, "f1_50": 0.75})
    assert across_images(store.results_table(), [key], "f1_50").iloc[0, -1] == 0.75
    store.set_metrics(first.result_id, None)
    assert store.load_run(run_id).results[0].metrics is None
    with pytest.raises(KeyError):
        store.set_metrics(999, metrics)


def test_the_store_lives_in_samcompare_home(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SAMCOMPARE_HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / "samcompare.db"
    store = ResultStore()
    assert store.path == tmp_path / "home" / "samcompare.db" and store.path.is_file()
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.delenv("SAMCOMPARE_HOME")
    assert default_store_path().name == "samcompare.db" and "samcompare" in str(default_store_path().parent)


def test_a_store_that_cannot_be_created_or_read_raises_store_error(tmp_path) -> None:  # noqa: ANN001
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the store's folder"):
        ResultStore(blocker / "home" / "samcompare.db")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an SQLite database, not at all" * 100)
    with pytest.raises(StoreError, match="not a database"):
        ResultStore(garbage)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_folder_raises_store_error(tmp_path) -> None:  # noqa: ANN001
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreError):
            ResultStore(folder / "samcompare.db")
    finally:
        folder.chmod(0o700)


def test_a_full_store_raises_store_error_and_keeps_what_it_had(tmp_path) -> None:  # noqa: ANN001
    store = ResultStore(tmp_path / "s.db")
    kept = store.add_run(synthetic_image(1), "a.png", "demo", "cpu", [synthetic_result(1)])
    # SQLite's page limit gives the error a full disk gives (SQLITE_FULL), without filling a disk.
    with sqlite3.connect(store.path) as connection:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
    big = dataclasses.replace(synthetic_result(2), config=AmgConfig(name="x" * 200_000))

    class FullStore(ResultStore):
        @contextmanager
        def _connection(self):  # noqa: ANN202 - the store's own connections, capped at today's size
            with super()._connection() as connection:
                connection.execute(f"PRAGMA max_page_count = {pages}")
                yield connection

    full = FullStore(store.path)
    with pytest.raises(StoreError, match="full"):
        full.add_run(synthetic_image(2), "b.png", "demo", "cpu", [big])
    assert [h.run_id for h in store.runs()] == [kept]
    assert store.integrity_check() == "ok"


def test_class_names_are_kept_with_the_run(tmp_path) -> None:  # noqa: ANN001
    from samcompare.results.labels import MaskLabels

    store = ResultStore(tmp_path / "labels.db")
    results = [synthetic_result(3, "a"), synthetic_result(4, "b")]
    labels = [MaskLabels.from_mapping({0: "cat", 1: "dog"}), None]
    run_id = store.add_run(synthetic_image(3), "x.png", "demo", "cpu", results, labels=labels)
    stored = store.load_run(run_id)
    assert stored.labels == (labels[0], MaskLabels())
    store.set_labels(stored.results[1].result_id, MaskLabels.from_mapping({2: "ほん"}))
    assert store.load_run(run_id).labels[1].as_dict() == {2: "ほん"}
    store.set_labels(stored.results[0].result_id, MaskLabels())  # clearing
    assert not store.load_run(run_id).labels[0]
    with pytest.raises(KeyError):
        store.set_labels(9999, MaskLabels())
