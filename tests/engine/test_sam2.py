"""SAM 2.1 settings equal `SAM2AutomaticMaskGenerator`'s output, and settings of SAM and SAM 2 compare in one call.

The model is a seeded random-weight SAM 2.1 Hiera-tiny (the same code and compute as the real
one); with the score thresholds at 0 and no box NMS every candidate becomes a record, so every
candidate's values are compared.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from engine_helpers import assert_records_equal, count_network_calls
from test_compare import scene

import samcompare.families.sam2 as sam2_family
from samcompare.config import AmgConfig, ConfigError
from samcompare.engine import ComparisonCache, compare, filter_setting, setting_candidates
from samcompare.engine.funnel import KEPT, SMALL_REGION_NMS
from samcompare.families import SAM2, family_of

pytest.importorskip("sam2", reason="SAM 2 settings need the sam2 package (requirements.txt)")

EVERY = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}

SAM2_CONFIGS = [
    AmgConfig(name="every candidate", points_per_side=4, **EVERY),
    AmgConfig(
        name="thresholds, mask_threshold",
        points_per_side=4,
        pred_iou_thresh=0.05,
        stability_score_thresh=0.3,
        mask_threshold=0.5,
        box_nms_thresh=0.9,
    ),
    AmgConfig(name="m2m", points_per_side=4, use_m2m=True, **EVERY),
    AmgConfig(name="single mask", points_per_side=4, multimask_output=False, points_per_batch=5, **EVERY),
    AmgConfig(
        name="crops, min area, coco",
        points_per_side=3,
        crop_n_layers=1,
        min_mask_region_area=20,
        crop_nms_thresh=0.9,
        output_mode="coco_rle",
        **EVERY,
    ),
]


def official(model, image, config) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sam2's "skipping the post-processing step" on a CPU
        try:
            return family_of(model).official_generator(model, config).generate(image)
        except IndexError:  # crop layers and nothing left: the official code raises; no masks
            return []


@pytest.fixture(scope="module")
def sam2_tiny():
    torch.manual_seed(0)
    return SAM2.build("sam2.1_hiera_t")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return scene(41, 96, 128)


def test_sam2_settings_equal_the_official_generator(sam2_tiny, image):
    cache = ComparisonCache()
    with count_network_calls(sam2_tiny) as calls:
        results = compare(sam2_tiny, image, SAM2_CONFIGS, cache=cache)
    assert calls.encoder == 5  # the whole image once for all settings, and four crops
    for config, result in zip(SAM2_CONFIGS, results, strict=True):
        expected = official(sam2_tiny, image, config)
        assert_records_equal(expected, result.records, config.name)
        assert result.funnel is not None and result.funnel.kept == len(expected)
        assert SMALL_REGION_NMS not in result.funnel.stages  # SAM 2's generate never runs the clean-up
    assert len(results[0]) == 16 * 3 and len(results[3]) == 16  # every candidate; one per point
    assert isinstance(results[0].records[0]["bbox"][0], float)  # SAM 2's records carry float boxes
    assert any("use_m2m" in note for note in results[2].funnel.notes)
    # A threshold-only change of a SAM 2 setting re-filters its cached decode: no network.
    stricter = SAM2_CONFIGS[0].replace(name="stricter", pred_iou_thresh=0.1, box_nms_thresh=0.5)
    with count_network_calls(sam2_tiny) as calls:
        refiltered = compare(sam2_tiny, image, [stricter], cache=cache)[0]
    assert calls.network == 0
    assert_records_equal(official(sam2_tiny, image, stricter), refiltered.records, stricter.name)


def _connected_components(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`sam2._C.get_connected_componnets` on the CPU: 8-connected labels and each pixel's component area."""
    from scipy import ndimage

    array = mask.cpu().numpy().astype(bool)
    labels = np.zeros(array.shape, dtype=np.int32)
    areas = np.zeros(array.shape, dtype=np.int32)
    for index in range(array.shape[0]):
        labelled, _ = ndimage.label(array[index, 0], structure=np.ones((3, 3)))
        sizes = np.bincount(labelled.ravel())
        sizes[0] = 0
        labels[index, 0] = labelled
        areas[index, 0] = sizes[labelled]
    return torch.as_tensor(labels), torch.as_tensor(areas)


def test_min_area_on_low_res_logits_where_sam2_can_apply_it(sam2_tiny, image, monkeypatch):
    """Where `sam2._C` runs, min_mask_region_area fills holes and removes sprinkles of the low-res logits
    before up-scaling, in the official generator and here alike; where it does not, it changes nothing."""
    base = AmgConfig(name="no area", points_per_side=4, **EVERY)
    area = base.replace(name="area 40", min_mask_region_area=40)
    skipped = compare(sam2_tiny, image, [base, area])
    assert_records_equal(skipped[0].records, skipped[1].records, "min area without sam2._C")
    assert any("no effect here" in note for note in skipped[1].funnel.notes)

    import sam2.utils.misc

    monkeypatch.setattr(sam2.utils.misc, "get_connected_components", _connected_components)
    sam2_family.small_regions_on_logits.cache_clear()
    try:
        applied = compare(sam2_tiny, image, [area])[0]
        assert_records_equal(official(sam2_tiny, image, area), applied.records, "min area with sam2._C")
        assert any("were flipped before up-scaling" in note for note in applied.funnel.notes)
        assert [r["area"] for r in applied.records] != [r["area"] for r in skipped[0].records]
    finally:
        monkeypatch.undo()
        sam2_family.small_regions_on_logits.cache_clear()


def test_sam_and_sam2_settings_in_one_comparison(sam2_tiny, demo_sam, image):
    sam_setting = AmgConfig(name="SAM", points_per_side=6, pred_iou_thresh=0.5, stability_score_thresh=0.5)
    sam2_setting = AmgConfig(name="SAM 2", model="sam2", points_per_side=4, **EVERY)
    models = {None: demo_sam, "sam2": sam2_tiny}
    results = compare(models, image, [sam_setting, sam2_setting])
    assert_records_equal(official(demo_sam, image, sam_setting), results[0].records, "SAM")
    assert_records_equal(official(sam2_tiny, image, sam2_setting), results[1].records, "SAM 2")
    # A SAM model refuses SAM 2's own parameters, naming the field.
    with pytest.raises(ConfigError, match="use_m2m.*SAM 2 setting"):
        compare(demo_sam, image, [sam_setting.replace(use_m2m=True)])
    with pytest.raises(ValueError, match="model 'other'"):
        compare(models, image, [sam2_setting.replace(model="other")])


def test_sweep_and_tuner_filter_sam2_candidates_like_the_official_generator(sam2_tiny, image):
    base = AmgConfig(name="base", points_per_side=4, use_m2m=True, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    candidates = setting_candidates(sam2_tiny, image, base, floor=None)
    cell = base.replace(name="cell", pred_iou_thresh=0.05, box_nms_thresh=0.6)
    result = filter_setting(candidates, cell)
    assert_records_equal(official(sam2_tiny, image, cell), result.records, "cell")
    assert result.funnel is not None and result.funnel.stages[-1] == KEPT
    # Another decode (m2m off) is not served by these candidates.
    assert "decodes otherwise" in (candidates.serves(base.replace(use_m2m=False)) or "")
