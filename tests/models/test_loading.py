import shutil

import pytest
import torch
from segment_anything.modeling import Sam

from samcompare.demo.architecture import build_demo_sam
from samcompare.models import ModelLoadError, available_models, default_model, infer_model_type, load_model
from samcompare.models.catalogue import DEMO_CHECKPOINT, MODEL_CATALOGUE


@pytest.fixture
def weights_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SAMCOMPARE_WEIGHTS", str(tmp_path))
    return tmp_path


def test_demo_model_loads_in_eval_mode_on_cpu():
    model = load_model("demo", device="cpu")
    assert isinstance(model, Sam)
    assert not model.training
    assert next(model.parameters()).device.type == "cpu"


def test_checkpoint_path_infers_its_type(tmp_path):
    copy = tmp_path / "my_model.pth"
    shutil.copy(DEMO_CHECKPOINT, copy)
    model = load_model(copy, device="cpu")
    reference = load_model("demo", device="cpu")
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_missing_official_checkpoint_says_how_to_get_it(weights_folder):
    with pytest.raises(ModelLoadError) as raised:
        load_model("vit_b", device="cpu")
    message = str(raised.value)
    assert str(weights_folder / "sam_vit_b_01ec64.pth") in message
    assert "python -m samcompare weights download vit_b" in message


def test_missing_path_and_unknown_name(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_model(tmp_path / "nope.pth", device="cpu")
    with pytest.raises(ModelLoadError, match="known models"):
        load_model("vit_z", device="cpu")


def test_truncated_checkpoint_is_named_and_refused(weights_folder):
    target = weights_folder / "sam_vit_b_01ec64.pth"
    target.write_bytes(DEMO_CHECKPOINT.read_bytes()[: DEMO_CHECKPOINT.stat().st_size // 2])
    with pytest.raises(ModelLoadError, match="truncated, corrupt") as raised:
        load_model("vit_b", device="cpu")
    assert str(target) in str(raised.value)


def test_garbage_file_is_refused(tmp_path):
    target = tmp_path / "garbage.pth"
    target.write_bytes(b"this is not a checkpoint" * 100)
    with pytest.raises(ModelLoadError, match="truncated, corrupt"):
        load_model(target, device="cpu")


def test_pickled_code_is_not_executed(tmp_path):
    """weights_only semantics: a checkpoint that would run code on load is refused."""
    target = tmp_path / "evil.pth"
    torch.save({"payload": shutil.rmtree}, target)
    with pytest.raises(ModelLoadError):
        load_model(target, device="cpu")


def test_checkpoint_of_another_type_is_refused(weights_folder):
    shutil.copy(DEMO_CHECKPOINT, weights_folder / "sam_vit_h_4b8939.pth")
    with pytest.raises(ModelLoadError, match="holds a demo model, not vit_h"):
        load_model("vit_h", device="cpu")
    with pytest.raises(ModelLoadError, match="holds a demo model, not vit_b"):
        load_model(weights_folder / "sam_vit_h_4b8939.pth", device="cpu", model_type="vit_b")


def test_not_a_sam_state_dict(tmp_path):
    target = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(4, 3, 3, 3)}, target)
    with pytest.raises(ModelLoadError, match="not a Segment Anything checkpoint"):
        load_model(target, device="cpu")


@pytest.mark.parametrize(("width", "expected"), [(1280, "vit_h"), (1024, "vit_l"), (768, "vit_b")])
def test_official_types_are_inferred_from_shapes(width, expected):
    state = {
        "image_encoder.patch_embed.proj.weight": torch.empty(width, 3, 16, 16),
        "mask_decoder.iou_token.weight": torch.empty(1, 256),
    }
    assert infer_model_type(state) == expected


def test_unavailable_device_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelLoadError, match="no CUDA GPU"):
        load_model("demo", device="cuda")


def test_demo_is_the_default_without_official_checkpoints(weights_folder):
    assert available_models() == ["demo"]
    assert default_model() == "demo"
    (weights_folder / MODEL_CATALOGUE["vit_b"].filename).write_bytes(b"x")
    assert available_models() == ["vit_b", "demo"]


def test_demo_description_states_the_built_model_size():
    built = sum(p.numel() for p in build_demo_sam().parameters())
    assert f"({built / 1e6:.1f}M parameters)" in MODEL_CATALOGUE["demo"].description


def test_sam2_checkpoints_load_by_name_and_by_content(weights_folder):
    pytest.importorskip("sam2", reason="SAM 2 models need the sam2 package")
    from samcompare.families import SAM2, family_of

    with pytest.raises(ModelLoadError, match="weights download sam2.1_hiera_tiny"):
        load_model("sam2.1_hiera_tiny", device="cpu")
    torch.manual_seed(0)
    built = SAM2.build("sam2.1_hiera_t")
    # The official files wrap the state dict in {"model": ...}, as sam2's own loader expects.
    torch.save({"model": built.state_dict()}, weights_folder / "sam2.1_hiera_tiny.pt")
    by_name = load_model("sam2.1_hiera_tiny", device="cpu")
    renamed = weights_folder / "my_sam2.pt"
    (weights_folder / "sam2.1_hiera_tiny.pt").rename(renamed)
    by_content = load_model(renamed, device="cpu")
    for model in (by_name, by_content):
        assert family_of(model) is SAM2 and not model.training
        assert all(
            torch.equal(a, b) for a, b in zip(model.state_dict().values(), built.state_dict().values(), strict=True)
        )
    assert infer_model_type(torch.load(renamed, weights_only=True)["model"]) == "sam2.1_hiera_t"
