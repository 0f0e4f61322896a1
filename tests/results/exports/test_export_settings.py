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
    code = setting_code_bytes(config, checkpoint="sam_vit_b_01ec64.pth", model_type="vit_b").decode("utf-8")
    compile(code, "setting.py", "exec")
    assert "points_per_side=6" in code and 'sam_model_registry["vit_b"]' in code
    assert write_setting_code(tmp_path / "s.py", config).read_text() == config.to_code()
