import numpy as np
import pytest
from segment_anything import SamAutomaticMaskGenerator

from samcompare.config import GENERATOR_PARAMETERS, PRESETS, AmgConfig, ConfigError


def test_defaults_are_sams_own():
    import inspect

    signature = inspect.signature(SamAutomaticMaskGenerator.__init__)
    official = {name: p.default for name, p in signature.parameters.items() if name not in ("self", "model")}
    assert set(official) == set(GENERATOR_PARAMETERS)
    config = AmgConfig()
    for name, default in official.items():
        assert getattr(config, name) == default, name


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"points_per_side": 0}, "points_per_side"),
        ({"points_per_side": None}, "points_per_side"),  # neither grid nor side
        ({"point_grids": [[[0.5, 0.5]]]}, "points_per_side"),  # both
        ({"points_per_side": None, "point_grids": [[[0.5, 0.5]]], "crop_n_layers": 1}, "point_grids"),
        ({"points_per_side": None, "point_grids": [[[0.5, 1.5]]]}, "point_grids"),
        ({"points_per_side": None, "point_grids": "abc"}, "point_grids"),
        ({"pred_iou_thresh": -0.1}, "pred_iou_thresh"),
        ({"stability_score_thresh": 1.5}, "stability_score_thresh"),
        ({"stability_score_offset": 0.0}, "stability_score_offset"),
        ({"box_nms_thresh": float("nan")}, "box_nms_thresh"),
        ({"crop_nms_thresh": 2}, "crop_nms_thresh"),
        ({"crop_n_layers": -1}, "crop_n_layers"),
        ({"crop_n_points_downscale_factor": 0}, "crop_n_points_downscale_factor"),
        (
            {"points_per_side": 4, "crop_n_layers": 2, "crop_n_points_downscale_factor": 4},
            "crop_n_points_downscale_factor",
        ),
        ({"points_per_batch": 0}, "points_per_batch"),
        ({"points_per_side": 2.5}, "points_per_side"),
        ({"min_mask_region_area": -5}, "min_mask_region_area"),
        ({"output_mode": "png"}, "output_mode"),
        ({"name": "  "}, "name"),
    ],
)
def test_invalid_settings_name_the_field(changes, field):
    with pytest.raises(ConfigError) as raised:
        AmgConfig(**changes)
    assert raised.value.field_name == field
    assert field in str(raised.value)


def test_seed_downscale_factor_zero_is_refused_not_a_crash():
    with pytest.raises(ConfigError, match="at least 1"):
        AmgConfig(crop_n_layers=1, crop_n_points_downscale_factor=0)


def test_json_round_trip_for_every_preset_and_grids():
    grids = AmgConfig(name="grids", points_per_side=None, point_grids=[[[0.25, 0.25], [0.75, 0.5]]])
    for config in [*PRESETS.values(), grids]:
        again = AmgConfig.from_json(config.to_json())
        assert again == config
        assert hash(again) == hash(config)


def test_from_json_refuses_unknown_field_and_bad_json():
    with pytest.raises(ConfigError, match="points_per_sid"):
        AmgConfig.from_dict({"points_per_sid": 8})
    with pytest.raises(ConfigError, match="not valid JSON"):
        AmgConfig.from_json("{points: 1")


def test_to_kwargs_builds_the_official_generator():
    from samcompare.demo.architecture import build_demo_sam

    config = AmgConfig(points_per_side=None, point_grids=[[[0.5, 0.5]], [[0.2, 0.2]]], crop_n_layers=1)
    generator = SamAutomaticMaskGenerator(build_demo_sam(), **config.to_kwargs())
    assert generator.crop_n_layers == 1
    assert isinstance(generator.point_grids[0], np.ndarray)
    assert generator.point_grids[1].tolist() == [[0.2, 0.2]]


def test_presets():
    assert AmgConfig.preset("SAM default") == AmgConfig()
    precise = AmgConfig.preset("High precision")
    assert (precise.pred_iou_thresh, precise.stability_score_thresh, precise.crop_n_layers) == (0.98, 0.96, 1)
    assert (precise.crop_n_points_downscale_factor, precise.min_mask_region_area) == (2, 100)
    assert AmgConfig.preset("Fast preview").points_per_side < 32
    small = AmgConfig.preset("Small objects")
    assert small.points_per_side > 32 and small.crop_n_layers == 1
    with pytest.raises(ConfigError, match="unknown preset"):
        AmgConfig.preset("Nope")


def test_to_code_runs_and_reproduces_the_setting(tmp_path):
    config = AmgConfig.preset("High precision")
    code = config.to_code()
    assert "pred_iou_thresh=0.98" in code and "points_per_side" not in code  # only non-defaults
    captured = {}

    class FakeGenerator:  # stands in for the network; we only check the arguments the code passes
        def __init__(self, model, **kwargs):
            captured.update(kwargs)

        def generate(self, image):
            return []

    namespace = {}
    code = code.replace("from segment_anything import SamAutomaticMaskGenerator, sam_model_registry\n", "")
    code = code.replace("import cv2\n", "")
    code = code.replace('image = cv2.cvtColor(cv2.imread("image.jpg"), cv2.COLOR_BGR2RGB)\n', "image = None\n")
    exec(
        code,
        {"SamAutomaticMaskGenerator": FakeGenerator, "sam_model_registry": {"vit_h": lambda checkpoint: None}},
        namespace,
    )
    assert AmgConfig(name=config.name, **captured) == config

    grid_config = AmgConfig(points_per_side=None, point_grids=[[[0.5, 0.5]]])
    assert "np.array([[0.5, 0.5]])" in grid_config.to_code()


def test_post_filters_round_trip_and_old_json_still_loads():
    config = AmgConfig(name="filtered", max_mask_region_area="40%", drop_border_masks=True, top_k=10)
    assert AmgConfig.from_json(config.to_json()) == config
    old = AmgConfig(name="old", pred_iou_thresh=0.7).to_json()
    assert "top_k" not in old and "max_mask_region_area" not in old  # an official setting writes what it always did
    assert AmgConfig.from_json(old).post_filters() == {}
    assert AmgConfig(max_mask_region_area=5000).to_dict()["max_mask_region_area"] == 5000
    assert config.describe_changes() == (
        "beyond SamAutomaticMaskGenerator: max_mask_region_area=40%, drop_border_masks=True, top_k=10"
    )
    assert "top_k" not in config.to_code().split("generator.generate(image)")[0]
