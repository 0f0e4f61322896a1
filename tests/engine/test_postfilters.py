"""Post-filters beyond the official generator: the engine equals the official output filtered afterwards."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import assert_records_equal, count_network_calls, official_records
from segment_anything import SamAutomaticMaskGenerator
from test_compare import LOW, scene

from samcompare.config import AmgConfig, AreaLimit, ConfigError
from samcompare.engine import ComparisonCache, compare, filter_setting, setting_candidates
from samcompare.engine.funnel import BORDER, KEPT, MAX_AREA, SMALL_REGION_NMS, TOP_K
from samcompare.engine.postfilters import apply_to_records, official_then_post_filters
from samcompare.results.masks import segmentation_to_mask

POST_CONFIGS = [
    AmgConfig(name="max area px", points_per_side=8, max_mask_region_area=600, **LOW),
    AmgConfig(name="max area %", points_per_side=8, max_mask_region_area="4%", **LOW),
    AmgConfig(name="border", points_per_side=8, drop_border_masks=True, **LOW),
    AmgConfig(name="top 5", points_per_side=8, top_k=5, **LOW),
    AmgConfig(name="top more than all", points_per_side=8, top_k=1000, **LOW),
    AmgConfig(
        name="all three, crops, min area",
        points_per_side=6,
        crop_n_layers=1,
        min_mask_region_area=30,
        max_mask_region_area="30%",
        drop_border_masks=True,
        top_k=4,
        **LOW,
    ),
    AmgConfig(name="all, coco", points_per_side=6, output_mode="coco_rle", top_k=3, drop_border_masks=True, **LOW),
]


def brute_force(records: list[dict], config: AmgConfig, image_size: tuple[int, int]) -> list[dict]:
    """The post-filters' rule computed from the masks' pixels, independently of `engine/postfilters.py`."""
    height, width = image_size
    left = []
    for record in records:
        mask = segmentation_to_mask(record["segmentation"])
        if config.max_mask_region_area is not None:
            limit = config.max_mask_region_area
            pixels = limit.value * height * width / 100 if limit.relative else limit.value
            if mask.sum() > pixels:
                continue
        if config.drop_border_masks and (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()):
            continue
        left.append(record)
    if config.top_k is not None:
        ranked = sorted(range(len(left)), key=lambda i: (-left[i]["predicted_iou"], i))[: config.top_k]
        left = [left[i] for i in sorted(ranked)]
    return left


@pytest.mark.parametrize("image_seed", [1, 2])
def test_engine_equals_official_output_filtered_afterwards(blob_sam, image_seed):
    image = scene(image_seed, 96, 128)
    size = (96, 128)
    results = compare(blob_sam, image, POST_CONFIGS)
    dropped_somewhere = 0
    for config, result in zip(POST_CONFIGS, results, strict=True):
        official = official_records(blob_sam, image, config.official()) or []
        expected = brute_force(official, config, size)
        assert_records_equal(expected, result.records, config.name)
        assert_records_equal(apply_to_records(official, config, size), result.records, config.name)
        assert_records_equal(official_then_post_filters(blob_sam, image, config), result.records, config.name)
        dropped_somewhere += len(official) - len(result)
    assert dropped_somewhere > 20  # the filters really dropped masks


def test_a_setting_without_post_filters_is_the_official_generator(blob_sam):
    config = AmgConfig(points_per_side=8, **LOW)
    assert not config.post_filtered and config.official() == config and config.post_filters() == {}
    assert set(config.to_kwargs()) == set(AmgConfig().to_kwargs())
    result = compare(blob_sam, scene(3, 80, 96), [config])[0]
    assert not {MAX_AREA, BORDER, TOP_K} & set(result.funnel.stages)
    assert_records_equal(official_records(blob_sam, scene(3, 80, 96), config), result.records)


def test_post_filters_are_never_passed_to_the_generator():
    config = AmgConfig(max_mask_region_area="10%", drop_border_masks=True, top_k=3)
    assert config.to_kwargs() == AmgConfig().to_kwargs()
    assert config.post_filters() == {"max_mask_region_area": "10%", "drop_border_masks": True, "top_k": 3}


def test_funnel_has_a_stage_and_fate_per_post_filter(blob_sam):
    image = scene(4, 96, 128)
    config = POST_CONFIGS[5].replace(max_mask_region_area="5%")
    result = compare(blob_sam, image, [config])[0]
    funnel = result.funnel
    assert funnel.stages[-5:] == (SMALL_REGION_NMS, MAX_AREA, BORDER, TOP_K, KEPT)
    counts = dict(funnel.stage_counts())
    official = len(official_records(blob_sam, image, config.official()) or [])
    assert counts[SMALL_REGION_NMS] == official  # the official output, then the post-filters
    assert counts[KEPT] == len(result) == 4
    before = official
    for stage in (MAX_AREA, BORDER, TOP_K):
        assert before - counts[stage] == funnel.dropped_at(stage) > 0
        before = counts[stage]
    np.testing.assert_array_equal(np.sort(funnel.mask_id[funnel.mask_id >= 0]), np.arange(len(result)))
    table = funnel.table()
    for stage, words in ((MAX_AREA, "> max_mask_region_area 5% ("), (BORDER, "image border"), (TOP_K, "top_k")):
        reasons = table.loc[table["fate"] == stage, "reason"]
        assert all(words in reason and "beyond SamAutomaticMaskGenerator" in reason for reason in reasons)


def test_post_filter_changes_refilter_from_cache_and_filter_setting_agrees(blob_sam):
    image = scene(5, 96, 112)
    cache = ComparisonCache()
    base = AmgConfig(name="base", points_per_side=8, **LOW)
    compare(blob_sam, image, [base], cache=cache)
    changed = [base.replace(name=c.name, **c.post_filters()) for c in POST_CONFIGS[:4]]
    with count_network_calls(blob_sam) as calls:
        results = compare(blob_sam, image, changed, cache=cache)
    assert calls.network == 0 and all(result.from_cache for result in results)
    candidates = setting_candidates(blob_sam, image, base, cache=cache)
    for config, result in zip(changed, results, strict=True):
        again = filter_setting(candidates, config)
        assert_records_equal(result.records, again.records, config.name)
        np.testing.assert_array_equal(result.funnel.fate_code, again.funnel.fate_code)


def test_area_limit_parses_pixels_and_percentages():
    assert AreaLimit.parse("40%") == AreaLimit(40.0, relative=True)
    assert AreaLimit.parse(" 12.5 % ") == AreaLimit(12.5, relative=True)
    assert AreaLimit.parse("5000") == AreaLimit(5000.0) == AreaLimit.parse(5000)
    assert AreaLimit.parse("40%").pixels((100, 200)) == 8000.0
    assert str(AreaLimit.parse("40%")) == "40%" and str(AreaLimit(5000)) == "5000 px"
    for bad in ("big", "0%", "150%", 0, -3, "nan"):
        with pytest.raises(ConfigError) as raised:
            AmgConfig(max_mask_region_area=bad)
        assert raised.value.field_name == "max_mask_region_area"
    with pytest.raises(ConfigError, match="top_k"):
        AmgConfig(top_k=0)
    with pytest.raises(ConfigError, match="drop_border_masks"):
        AmgConfig(drop_border_masks="yes")


def test_to_code_applies_the_post_filters_as_the_engine_does(blob_sam):
    """The setting's code: the official call (post-filters never passed to it), then the lines that filter."""
    image = scene(6, 96, 128)
    captured: dict = {}

    class Generator:  # the official generator, recording the arguments the code passes
        def __init__(self, model, **kwargs):
            captured.clear()
            captured.update(kwargs)
            self.official = SamAutomaticMaskGenerator(blob_sam, **kwargs)

        def generate(self, pixels):
            return self.official.generate(pixels)

    for config in POST_CONFIGS[:4] + POST_CONFIGS[5:]:
        code = config.to_code()
        call, filters = code.split("masks = generator.generate(image)\n")
        assert filters.startswith("# Beyond SamAutomaticMaskGenerator")
        assert not any(name in call for name in ("max_mask_region_area", "drop_border_masks", "top_k"))
        body = call.replace("from segment_anything import SamAutomaticMaskGenerator, sam_model_registry\n", "")
        body = body.replace("import cv2\n", "")
        body = body.replace('image = cv2.cvtColor(cv2.imread("image.jpg"), cv2.COLOR_BGR2RGB)\n', "")
        scope = {"SamAutomaticMaskGenerator": Generator, "sam_model_registry": {"vit_h": lambda checkpoint: None}}
        scope["image"] = image  # one namespace, as a script's module level has
        exec(body + "masks = generator.generate(image)\n" + filters, scope)
        assert AmgConfig(name=config.name, **captured) == config.official()
        assert_records_equal(compare(blob_sam, image, [config])[0].records, scope["masks"], config.name)
