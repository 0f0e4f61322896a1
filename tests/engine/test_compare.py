"""The engine's results equal `SamAutomaticMaskGenerator`'s, and shared work runs the network only once."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_helpers import assert_records_equal, count_network_calls, official_records

import samcompare.engine.candidates as candidates_module
from samcompare.config import AmgConfig
from samcompare.demo.shapes import generate_scene
from samcompare.engine import ComparisonCache, Progress, RunResult, compare


def scene(seed: int, height: int, width: int) -> np.ndarray:
    return generate_scene(np.random.default_rng(seed), height, width).image


LOW = {"pred_iou_thresh": 0.5, "stability_score_thresh": 0.5}

# Settings for the blob model: each exercises one part of the official pipeline.
BLOB_CONFIGS = [
    AmgConfig(name="defaults", points_per_side=8),
    AmgConfig(name="low thresholds", points_per_side=8, **LOW),
    AmgConfig(name="zero thresholds", points_per_side=8, pred_iou_thresh=0.0, stability_score_thresh=0.0),
    AmgConfig(name="iou only", points_per_side=8, pred_iou_thresh=0.95, stability_score_thresh=0.0),
    AmgConfig(name="stability only", points_per_side=8, pred_iou_thresh=0.0, stability_score_thresh=0.8),
    AmgConfig(name="tight nms", points_per_side=8, box_nms_thresh=0.2, **LOW),
    AmgConfig(name="no nms", points_per_side=8, box_nms_thresh=1.0, **LOW),
    AmgConfig(name="offset", points_per_side=8, stability_score_offset=0.3, **LOW),
    AmgConfig(name="batch 5", points_per_side=8, points_per_batch=5, **LOW),
    # Batches of one point with a strict threshold: some batches end up empty, which makes the
    # official crop boxes float32 (torch.cat type promotion); the records must show the same floats.
    AmgConfig(name="batch 1 strict", points_per_side=5, points_per_batch=1, pred_iou_thresh=0.9),
    AmgConfig(name="crops 1", points_per_side=6, crop_n_layers=1, **LOW),
    AmgConfig(
        name="crops 1 overlap", points_per_side=6, crop_n_layers=1, crop_overlap_ratio=0.6, crop_nms_thresh=0.4, **LOW
    ),
    AmgConfig(
        name="crops 2 downscale",
        points_per_side=8,
        crop_n_layers=2,
        crop_n_points_downscale_factor=2,
        crop_overlap_ratio=0.1,
        **LOW,
    ),
    AmgConfig(
        name="explicit grids",
        points_per_side=None,
        point_grids=(((0.1, 0.1), (0.5, 0.5), (0.9, 0.3), (0.3, 0.8)), ((0.25, 0.25), (0.75, 0.6))),
        crop_n_layers=1,
        **LOW,
    ),
    AmgConfig(name="min area", points_per_side=8, min_mask_region_area=40, **LOW),
    AmgConfig(
        name="min area crops",
        points_per_side=6,
        crop_n_layers=1,
        min_mask_region_area=25,
        box_nms_thresh=0.5,
        crop_nms_thresh=0.8,
        **LOW,
    ),
    AmgConfig(name="rle", points_per_side=8, output_mode="uncompressed_rle", **LOW),
    AmgConfig(name="coco", points_per_side=6, crop_n_layers=1, output_mode="coco_rle", **LOW),
]

IMAGES = {
    "square": (1, 128, 128),
    "wide": (2, 96, 128),
    "small odd": (3, 57, 40),
    "tall": (4, 160, 100),
}


@pytest.mark.parametrize("image_name", list(IMAGES))
def test_blob_model_matches_official(blob_sam, image_name):
    image = scene(*IMAGES[image_name])
    cache = ComparisonCache()
    results = compare(blob_sam, image, BLOB_CONFIGS, cache=cache)
    assert [r.config for r in results] == BLOB_CONFIGS
    total_masks = 0
    for config, result in zip(BLOB_CONFIGS, results, strict=True):
        expected = official_records(blob_sam, image, config)
        assert expected is not None, config.name
        assert_records_equal(expected, result.records, f"{image_name}/{config.name}")
        assert result.image_shape == image.shape[:2]
        total_masks += len(result)
    assert total_masks > 100  # the settings really produced masks to compare


def test_blob_model_matches_official_from_warm_cache(blob_sam):
    """Second call: everything is served from the cache, in another order, and still equal."""
    image = scene(5, 112, 128)
    cache = ComparisonCache()
    compare(blob_sam, image, BLOB_CONFIGS, cache=cache)
    reordered = BLOB_CONFIGS[::-1]
    with count_network_calls(blob_sam) as calls:
        results = compare(blob_sam, image, reordered, cache=cache)
    assert calls.network == 0
    for config, result in zip(reordered, results, strict=True):
        assert result.from_cache
        assert_records_equal(official_records(blob_sam, image, config), result.records, config.name)


def test_demo_model_matches_official(demo_sam):
    """The real architecture (trained when the checkpoint exists, else random) through the same checks."""
    configs = [
        AmgConfig(name="defaults", points_per_side=6),
        AmgConfig(name="zero", points_per_side=6, pred_iou_thresh=0.0, stability_score_thresh=0.0),
        AmgConfig(
            name="zero, small offset, no nms",
            points_per_side=6,
            pred_iou_thresh=0.0,
            stability_score_thresh=0.0,
            stability_score_offset=0.05,
            box_nms_thresh=1.0,
            output_mode="uncompressed_rle",
        ),
        AmgConfig(name="low", points_per_side=6, points_per_batch=10, pred_iou_thresh=0.3, stability_score_thresh=0.3),
        AmgConfig(
            name="crops",
            points_per_side=4,
            crop_n_layers=1,
            pred_iou_thresh=0.0,
            stability_score_thresh=0.0,
            box_nms_thresh=1.0,
            min_mask_region_area=20,
        ),
    ]
    for seed, height, width in [(11, 128, 128), (12, 80, 128), (13, 150, 90)]:
        image = scene(seed, height, width)
        results = compare(demo_sam, image, configs)
        for config, result in zip(configs, results, strict=True):
            expected = official_records(demo_sam, image, config)
            assert_records_equal(expected if expected is not None else [], result.records, config.name)


def test_tiny_image(blob_sam):
    image = scene(6, 17, 23)
    configs = [
        AmgConfig(name="plain", points_per_side=4, **LOW),
        AmgConfig(name="crops", points_per_side=4, crop_n_layers=2, pred_iou_thresh=0.0, stability_score_thresh=0.0),
    ]
    for config, result in zip(configs, compare(blob_sam, image, configs), strict=True):
        expected = official_records(blob_sam, image, config)
        assert_records_equal(expected if expected is not None else [], result.records, config.name)


def test_threshold_only_change_runs_no_network(blob_sam):
    image = scene(7, 96, 112)
    cache = ComparisonCache()
    first = AmgConfig(name="first", points_per_side=8, crop_n_layers=1)
    with count_network_calls(blob_sam) as calls:
        compare(blob_sam, image, [first], cache=cache)
    assert calls.encoder == 5 and calls.decoder > 0
    changed = [
        first.replace(name="looser", pred_iou_thresh=0.0, stability_score_thresh=0.0),
        first.replace(name="stricter", pred_iou_thresh=0.99, stability_score_thresh=0.9),
        first.replace(name="nms", box_nms_thresh=0.3, crop_nms_thresh=0.9, pred_iou_thresh=0.4),
        first.replace(name="clean-up", min_mask_region_area=30, stability_score_thresh=0.6),
        first.replace(name="rle", output_mode="coco_rle", pred_iou_thresh=0.6, stability_score_thresh=0.6),
    ]
    with count_network_calls(blob_sam) as calls:
        results = compare(blob_sam, image, changed, cache=cache)
    assert calls.network == 0
    for config, result in zip(changed, results, strict=True):
        assert result.from_cache and result.cache_use.decodes_reused == 5
        assert result.timings.embedding == 0.0 and result.timings.decoding == 0.0
        expected = official_records(blob_sam, image, config)
        assert_records_equal(expected if expected is not None else [], result.records, config.name)


def test_candidates_are_post_processed_once_and_only_when_a_setting_can_keep_them(blob_sam, monkeypatch):
    """Like the official generator, a strict pred_iou_thresh leaves most candidates un-encoded; a looser
    one later completes them from the kept logits, without the network and without redoing any."""
    processed: list[int] = []
    postprocess = candidates_module._postprocess

    def counting(model, low_res, *args):
        processed.append(len(low_res))
        return postprocess(model, low_res, *args)

    monkeypatch.setattr(candidates_module, "_postprocess", counting)
    image = scene(15, 96, 112)
    cache = ComparisonCache()
    strict = AmgConfig(name="strict", points_per_side=8, pred_iou_thresh=0.95, stability_score_thresh=0.0)
    n_candidates = 8 * 8 * 3
    assert_records_equal(
        official_records(blob_sam, image, strict), compare(blob_sam, image, [strict], cache=cache)[0].records
    )
    first = sum(processed)
    assert 0 < first < n_candidates

    looser = [strict.replace(name="half", pred_iou_thresh=0.5), strict.replace(name="none", pred_iou_thresh=0.0)]
    with count_network_calls(blob_sam) as calls:
        results = compare(blob_sam, image, looser, cache=cache)
    assert calls.network == 0
    assert sum(processed) == n_candidates  # each candidate encoded exactly once over both calls
    for config, result in zip(looser, results, strict=True):
        assert result.from_cache
        assert_records_equal(official_records(blob_sam, image, config), result.records, config.name)


def test_looser_threshold_decodes_again_when_the_kept_logits_were_evicted(blob_sam):
    image = scene(16, 80, 96)
    cache = ComparisonCache()
    strict = AmgConfig(points_per_side=6, pred_iou_thresh=0.9)
    compare(blob_sam, image, [strict], cache=cache)
    pending = [key for key in cache._entries if key[0] == "pending"]
    assert pending
    for key in pending:
        cache.discard(key)
    looser = strict.replace(pred_iou_thresh=0.3, stability_score_thresh=0.3)
    with count_network_calls(blob_sam) as calls:
        result = compare(blob_sam, image, [looser], cache=cache)[0]
    assert calls.encoder == 0 and calls.decoder == 1
    assert_records_equal(official_records(blob_sam, image, looser), result.records)


def test_work_is_shared_within_one_call(blob_sam):
    image = scene(8, 96, 96)
    configs = [
        AmgConfig(name="a", points_per_side=8, crop_n_layers=1, **LOW),
        AmgConfig(name="b", points_per_side=8, crop_n_layers=2, **LOW),  # shares layers 0 and 1
        AmgConfig(name="c", points_per_side=8, pred_iou_thresh=0.9),  # shares layer 0 only
        AmgConfig(name="d", points_per_side=8, points_per_batch=16, **LOW),  # same embedding, new decode
        AmgConfig(name="e", points_per_side=8, stability_score_offset=0.5, **LOW),  # decoded with a's layer 0
    ]
    cache = ComparisonCache()
    with count_network_calls(blob_sam) as calls:
        results = compare(blob_sam, image, configs, cache=cache)
    assert calls.encoder == 1 + 4 + 16
    # Batches of 64 points: layer 0 once (both offsets at once), again in batches of 16 (4),
    # and the 4 + 16 crops of layers 1 and 2 (8 x 8 grids) once each.
    assert calls.decoder == 1 + 4 + 4 + 16
    assert results[0].cache_use.embeddings_computed == 5
    assert results[1].cache_use.embeddings_computed == 16 and results[1].cache_use.decodes_reused == 5
    assert results[2].from_cache and results[4].from_cache
    assert results[3].cache_use.embeddings_computed == 0 and results[3].cache_use.decodes_computed == 1
    for config, result in zip(configs, results, strict=True):
        assert_records_equal(official_records(blob_sam, image, config), result.records, config.name)

    # A stability offset not decoded yet needs the decoder again, but not the encoder.
    new_offset = configs[2].replace(stability_score_offset=2.0)
    with count_network_calls(blob_sam) as calls:
        result = compare(blob_sam, image, [new_offset], cache=cache)[0]
    assert calls.encoder == 0 and calls.decoder == 1
    assert result.cache_use.decodes_computed == 1 and result.cache_use.embeddings_reused == 1
    assert_records_equal(official_records(blob_sam, image, new_offset), result.records)


def test_cache_evicts_under_a_tiny_budget(blob_sam):
    image = scene(9, 96, 128)
    config = AmgConfig(points_per_side=8, crop_n_layers=1, **LOW)
    probe = ComparisonCache()
    compare(blob_sam, image, [config], cache=probe)
    assert probe.nbytes > 0
    budget = probe.nbytes // 3
    cache = ComparisonCache(max_bytes=budget)
    result = compare(blob_sam, image, [config], cache=cache)[0]
    stats = cache.stats()
    assert stats.evictions > 0 and 0 < stats.nbytes <= budget
    assert_records_equal(official_records(blob_sam, image, config), result.records)
    # Evicted work is recomputed on the next call, with the same result.
    with count_network_calls(blob_sam) as calls:
        again = compare(blob_sam, image, [config], cache=cache)[0]
    assert calls.network > 0
    assert_records_equal(result.records, again.records)

    empty = ComparisonCache(max_bytes=0)
    compare(blob_sam, image, [config], cache=empty)
    assert len(empty) == 0 and empty.nbytes == 0


def test_cache_notices_changed_weights_and_image(blob_sam):
    image = scene(10, 64, 64)
    cache = ComparisonCache()
    config = AmgConfig(points_per_side=4, **LOW)
    compare(blob_sam, image, [config], cache=cache)
    other = image.copy()
    other[0, 0, 0] ^= 1
    with count_network_calls(blob_sam) as calls:
        compare(blob_sam, other, [config], cache=cache)
    assert calls.encoder == 1
    param = next(blob_sam.image_encoder.parameters())
    with torch.no_grad():
        param.add_(0.0)  # an in-place edit bumps the version counter
    with count_network_calls(blob_sam) as calls:
        compare(blob_sam, image, [config], cache=cache)
    assert calls.encoder == 1


def test_a_read_only_image_is_hashed_once_and_a_writable_one_every_time(monkeypatch):
    import samcompare.engine.cache as cache_module

    hashed = []
    plain = cache_module.array_key
    monkeypatch.setattr(cache_module, "array_key", lambda array: hashed.append(1) or plain(array))
    writable = scene(11, 32, 32)
    key = cache_module.image_key(writable)
    writable[0, 0, 0] ^= 1  # changed in place: a new key, not the remembered one
    assert cache_module.image_key(writable) != key and len(hashed) == 2
    frozen = writable.copy()
    frozen.setflags(write=False)
    assert cache_module.image_key(frozen) == cache_module.image_key(frozen) == cache_module.image_key(writable)
    assert len(hashed) == 4  # the frozen copy once, the writable image again
    view = writable[:]  # read-only view of a writable array: its values can still change
    view.setflags(write=False)
    assert not cache_module.is_frozen(view)
    del frozen
    assert all(reference() is not None for reference, _ in cache_module._frozen_image_keys.values())


def test_no_mask_left_with_crop_layers(blob_sam):
    """The official generator raises when crop layers leave no mask; the engine returns none."""
    image = scene(11, 96, 96)
    config = AmgConfig(points_per_side=4, crop_n_layers=1, pred_iou_thresh=1.5)
    with pytest.raises(IndexError):
        from segment_anything import SamAutomaticMaskGenerator

        SamAutomaticMaskGenerator(blob_sam, **config.to_kwargs()).generate(image)
    result = compare(blob_sam, image, [config])[0]
    assert result.records == [] and len(result) == 0
    assert list(result.masks()) == []
    # Without crop layers the official generator returns an empty list itself.
    plain = config.replace(crop_n_layers=0)
    assert official_records(blob_sam, image, plain) == []
    assert compare(blob_sam, image, [plain])[0].records == []


def test_small_postprocess_chunks_give_the_same_masks(blob_sam, monkeypatch):
    monkeypatch.setattr(candidates_module, "POSTPROCESS_CHUNK_BYTES", 1)
    image = scene(12, 100, 72)
    config = AmgConfig(points_per_side=6, points_per_batch=10, crop_n_layers=1, **LOW)
    result = compare(blob_sam, image, [config])[0]
    assert_records_equal(official_records(blob_sam, image, config), result.records)


def test_result_masks_are_lazy_views_of_the_rles(blob_sam):
    image = scene(13, 80, 96)
    config = AmgConfig(points_per_side=6, output_mode="uncompressed_rle", **LOW)
    result = compare(blob_sam, image, [config])[0]
    assert isinstance(result, RunResult) and len(result) > 0
    binary = official_records(blob_sam, image, config.replace(output_mode="binary_mask"))
    assert binary is not None
    for i, (record, mask) in enumerate(zip(binary, result.masks(), strict=True)):
        assert np.array_equal(record["segmentation"], mask)
        assert np.array_equal(result.mask(i), mask)
        assert result.areas()[i] == record["area"] == int(mask.sum())
    assert result.rles() == [r["segmentation"] for r in result.records]
    # Records hand out copies: editing one does not change the result.
    result.records[0]["segmentation"]["counts"].append(1)
    assert result.rle(0) == result.records[0]["segmentation"]


def test_progress_reports(blob_sam):
    image = scene(14, 96, 96)
    configs = [
        AmgConfig(name="one", points_per_side=8, **LOW),
        AmgConfig(name="two", points_per_side=8, crop_n_layers=1),
    ]
    reports: list[Progress] = []
    compare(blob_sam, image, configs, progress=reports.append)
    assert reports[-1].stage == "done" and reports[-1].fraction == 1.0
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and all(0.0 <= f <= 1.0 for f in fractions)
    stages = {r.stage for r in reports}
    assert {"embedding", "decoding", "filtering", "done"} <= stages
    decoding = [r for r in reports if r.stage == "decoding"]
    assert all(1 <= r.batch_index <= r.n_batches for r in decoding)
    assert {r.config_name for r in reports} == {"one", "two"}
    assert max(r.n_crops for r in reports) == 5


def test_invalid_inputs(blob_sam):
    assert compare(blob_sam, scene(1, 32, 32), []) == []
    with pytest.raises(ValueError):
        compare(blob_sam, np.zeros((32, 32), np.uint8), [AmgConfig()])
    with pytest.raises(ValueError):
        compare(blob_sam, np.zeros((32, 32, 3), np.float32), [AmgConfig()])
