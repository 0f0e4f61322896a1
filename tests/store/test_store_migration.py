"""A database made by schema version 1 opens, is brought up to date, and keeps its runs."""

from __future__ import annotations

import json
import sqlite3

import pytest

from samcompare.config import GENERATOR_PARAMETERS, AmgConfig
from samcompare.results.labels import MaskLabels
from samcompare.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    ResultStore,
    RunRecord,
    StoreError,
    parameters_key,
    setting_label,
)
from samcompare.store.schema import V1_DDL
from tests.engine.engine_helpers import assert_records_equal
from tests.store.store_writer import synthetic_image, synthetic_result


def make_version_1(path) -> list:  # noqa: ANN001
    """A database exactly as version 1 of the store left it: its DDL, its version, two runs in its tables."""
    results = [synthetic_result(1, "a"), synthetic_result(2, "b")]
    record = RunRecord.from_results(synthetic_image(1), "old.png", "demo", "cpu", results, "app", 2.0)
    with sqlite3.connect(path) as connection:
        connection.executescript(V1_DDL)
        connection.execute("PRAGMA user_version = 1")
        connection.execute(
            "INSERT INTO images (image_key, name, width, height, thumbnail_png, pixels_png) VALUES (?, ?, ?, ?, ?, ?)",
            (record.image.image_key, "old.png", 32, 24, record.image.thumbnail_png, record.image.pixels_png),
        )
        connection.execute(
            "INSERT INTO runs (image_id, image_name, model, device, created_at, source, seconds) "
            "VALUES (1, 'old.png', 'demo', 'cpu', 1700000000.0, 'app', 2.0)"
        )
        for position, result in enumerate(record.results):
            connection.execute(
                "INSERT INTO results (run_id, position, setting_name, setting_json, parameters_key, mask_count, "
                "coverage_pct, statistics_json, timings_json, cache_use_json, masks_npz, metrics_json) "
                "VALUES (1, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, NULL)",
                (
                    position,
                    result.setting_name,
                    result.setting_json,
                    result.parameters_key,
                    result.mask_count,
                    result.coverage_pct,
                    '{"embedding": 0.0, "decoding": 0.0, "filtering": 0.0, "cleanup": 0.0, "total": 0.5}',
                    '{"decodes_computed": 1}',
                    result.masks_npz,
                ),
            )
    return results


def test_a_version_1_database_is_migrated_and_keeps_its_runs(tmp_path) -> None:  # noqa: ANN001
    assert SCHEMA_VERSION == len(MIGRATIONS) == 3
    path = tmp_path / "v1.db"
    results = make_version_1(path)
    store = ResultStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.integrity_check() == "ok"
    (header,) = store.runs()
    assert (header.image_name, header.created_at, header.seconds) == ("old.png", 1700000000.0, 2.0)
    stored = store.load_run(header.run_id)
    for expected, read in zip(results, stored.run_results, strict=True):
        assert_records_equal(expected.records, read.records, expected.config.name)
    # What version 2 added works on the migrated file.
    configs = [AmgConfig(name="a", points_per_side=4)]
    batch = store.batch_id("demo", configs)
    store.record_batch_item(batch, "broken.png", "digest", None, "failed: not an image")
    assert store.batch_items(batch)["broken.png"].error == "failed: not an image"
    # What version 3 added: old results have no class names, and can be given some.
    assert all(not read.labels for read in stored.results)
    result_id = stored.results[0].result_id
    store.set_labels(result_id, MaskLabels.from_mapping({0: "cat"}))
    assert store.load_run(header.run_id).results[0].labels.name(0) == "cat"
    # Opening again changes nothing.
    assert ResultStore(path).schema_version() == SCHEMA_VERSION and ResultStore(path).count_runs() == 1


def test_old_settings_keep_their_key_and_settings_with_post_filters_get_their_own() -> None:
    """A setting's key is what History groups "the same setting" by: old keys must not change."""
    official = AmgConfig(name="x", points_per_side=8, pred_iou_thresh=0.7)
    data = official.to_dict()
    old_key = json.dumps({n: data[n] for n in GENERATOR_PARAMETERS}, sort_keys=True, separators=(",", ":"))
    assert parameters_key(official) == old_key
    filtered = official.replace(top_k=5, max_mask_region_area="30%")
    assert parameters_key(filtered) != old_key
    assert setting_label("x", parameters_key(filtered))  # the key reads back as a setting
    assert AmgConfig.from_dict({"name": "x", **json.loads(parameters_key(filtered))}) == filtered


def test_a_database_from_a_newer_samcompare_is_refused(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "future.db"
    ResultStore(path)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this samcompare"):
        ResultStore(path)
