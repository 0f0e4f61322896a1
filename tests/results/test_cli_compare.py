"""The `compare` subcommand, run in-process: with a stand-in engine (always), with the demo model (when present)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from pycocotools.coco import COCO

import samcompare.engine
import samcompare.models
from samcompare.cli import main, read_image
from samcompare.config import AmgConfig
from samcompare.demo.architecture import build_demo_sam
from samcompare.models.catalogue import DEMO_CHECKPOINT


@pytest.fixture
def image_path(tmp_path, scene_image):
    path = tmp_path / "scene.png"
    Image.fromarray(scene_image).save(path)
    return path


@pytest.fixture
def cheap_config(tmp_path):
    path = tmp_path / "cheap.json"
    path.write_text(json.dumps({"points_per_side": 6, "points_per_batch": 36, "pred_iou_thresh": 0.5}))
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


def test_compare_with_a_stand_in_engine_writes_and_prints(
    monkeypatch, tmp_path, capsys, image_path, cheap_config, scene_masks, make_run_result
):
    seen = {}

    def fake_compare(model, image, configs, progress=None, cache=None):
        seen["configs"], seen["image"] = list(configs), image
        return [make_run_result(scene_masks[i:], config) for i, config in enumerate(configs)]

    monkeypatch.setattr(samcompare.models, "load_model", lambda name, device=None: f"model {name} on {device}")
    monkeypatch.setattr(samcompare.engine, "compare", fake_compare)
    out = tmp_path / "out"
    code = main(
        ["compare", str(image_path), "--preset", "Fast preview", "--config", str(cheap_config), "--out", str(out)]
    )
    assert code == 0
    assert [c.name for c in seen["configs"]] == ["Fast preview", "cheap"]
    assert seen["image"].shape == (96, 128, 3) and seen["image"].dtype == np.uint8
    printed = capsys.readouterr().out
    assert "Fast preview" in printed and "coverage %" in printed and "matched at IoU >= 0.5" in printed
    for slug in ("fast-preview", "cheap"):
        assert sorted(p.name for p in (out / slug).iterdir()) == [
            "masks.coco.json",
            "masks.csv",
            "overlay.png",
            "setting.json",
        ]
    assert (out / "match.png").is_file() and (out / "comparison.csv").is_file()


def test_default_settings_are_the_two_article_presets(monkeypatch, tmp_path, image_path, scene_masks, make_run_result):
    seen = []
    monkeypatch.setattr(samcompare.models, "load_model", lambda name, device=None: None)
    monkeypatch.setattr(
        samcompare.engine,
        "compare",
        lambda model, image, configs, progress=None, cache=None: (
            seen.extend(configs) or [make_run_result(scene_masks, c) for c in configs]
        ),
    )
    assert main(["compare", str(image_path), "--out", str(tmp_path / "o")]) == 0
    assert [c.name for c in seen] == ["SAM default", "High precision"]


@pytest.mark.skipif(not DEMO_CHECKPOINT.is_file(), reason="demo checkpoint not trained yet")
def test_compare_with_the_demo_model(tmp_path, capsys, image_path, cheap_config):
    other = tmp_path / "other.json"
    other.write_text(AmgConfig(name="other", points_per_side=4, pred_iou_thresh=0.6).to_json())
    out = tmp_path / "out"
    args = ["compare", str(image_path), "--config", str(cheap_config), "--config", str(other)]
    code = main([*args, "--model", "demo", "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert (out / "cheap" / "masks.coco.json").is_file() and (out / "other" / "setting.json").is_file()
    assert (out / "match.csv").is_file()
    assert "cheap" in capsys.readouterr().out


def test_compare_runs_the_real_engine_on_an_untrained_demo_architecture(tmp_path, capsys, image_path):
    """The whole path (model file, engine, tqdm, exports) without waiting for the trained demo checkpoint."""
    torch.manual_seed(0)
    checkpoint = tmp_path / "untrained.pth"
    torch.save(build_demo_sam().state_dict(), checkpoint)
    keep_all = {"points_per_side": 6, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}
    (tmp_path / "a.json").write_text(json.dumps(keep_all))
    (tmp_path / "b.json").write_text(json.dumps({**keep_all, "output_mode": "coco_rle"}))
    out = tmp_path / "out"
    args = ["compare", str(image_path), "--config", str(tmp_path / "a.json"), "--config", str(tmp_path / "b.json")]
    assert main([*args, "--model", str(checkpoint), "--device", "cpu", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "a (" in captured.out and "wrote" in captured.out
    assert len(COCO(str(out / "a" / "masks.coco.json")).anns) == len(COCO(str(out / "b" / "masks.coco.json")).anns)
    assert (out / "match.csv").is_file()
    funnel = pd.read_csv(out / "a" / "funnel.csv")
    assert list(funnel.columns) == ["stage", "count"]
    assert funnel["stage"].iloc[0] == "candidates" and funnel["count"].iloc[0] == 6 * 6 * 3
    assert funnel["stage"].iloc[-1] == "kept"
    assert funnel["count"].iloc[-1] == len(COCO(str(out / "a" / "masks.coco.json")).anns)
    candidates = pd.read_csv(out / "a" / "candidates.csv")
    assert len(candidates) == 6 * 6 * 3 and (candidates["fate"] == "kept").sum() == funnel["count"].iloc[-1]
    assert set(candidates["fate"]) <= {*funnel["stage"].iloc[1:]}


def test_unreadable_and_missing_images(tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    assert main(["compare", str(broken)]) == 2
    assert "cannot read image" in _one_error_line(capsys)
    assert main(["compare", str(tmp_path / "absent.jpg")]) == 2
    assert "image not found" in _one_error_line(capsys)


def test_bad_settings(tmp_path, capsys, image_path):
    assert main(["compare", str(image_path), "--preset", "Nope"]) == 2
    assert "unknown preset 'Nope'" in _one_error_line(capsys)
    invalid_json = tmp_path / "bad.json"
    invalid_json.write_text("{points_per_side: 6")
    assert main(["compare", str(image_path), "--config", str(invalid_json)]) == 2
    assert "not valid JSON" in _one_error_line(capsys)
    invalid_value = tmp_path / "zero.json"
    invalid_value.write_text(json.dumps({"crop_n_layers": 1, "crop_n_points_downscale_factor": 0}))
    assert main(["compare", str(image_path), "--config", str(invalid_value)]) == 2
    assert "crop_n_points_downscale_factor" in _one_error_line(capsys)
    assert main(["compare", str(image_path), "--config", str(tmp_path / "none.json")]) == 2
    assert "cannot read setting file" in _one_error_line(capsys)


def test_missing_checkpoint(tmp_path, capsys, image_path):
    assert main(["compare", str(image_path), "--model", str(tmp_path / "nope.pth"), "--out", str(tmp_path / "o")]) == 2
    assert "checkpoint file not found" in _one_error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_images_are_read_upright_and_rgb(tmp_path):
    picture = Image.fromarray(np.zeros((10, 20, 3), dtype=np.uint8))
    exif = picture.getexif()
    exif[0x0112] = 6  # rotated: viewers turn it 90 degrees
    path = tmp_path / "rotated.jpg"
    picture.save(path, exif=exif)
    assert read_image(path).shape == (20, 10, 3)
    grey = tmp_path / "grey.png"
    Image.fromarray(np.zeros((5, 6), dtype=np.uint8)).save(grey)
    assert read_image(grey).shape == (5, 6, 3)


def test_compare_export_writes_each_dataset_format(
    monkeypatch, tmp_path, image_path, cheap_config, scene_masks, make_run_result
):
    from samcompare.results.exports import read_coco, read_yolo_dataset
    from samcompare.results.exports.polygons import iou

    monkeypatch.setattr(samcompare.models, "load_model", lambda name, device=None: None)
    monkeypatch.setattr(
        samcompare.engine,
        "compare",
        lambda model, image, configs, progress=None, cache=None: [make_run_result(scene_masks, c) for c in configs],
    )
    out = tmp_path / "out"
    arguments = ["compare", str(image_path), "--config", str(cheap_config), "--out", str(out)]
    assert main([*arguments, "--export", "coco-polygons,yolo", "--polygon-tolerance", "0.5"]) == 0
    folder = out / "cheap"
    assert sorted(p.name for p in folder.iterdir()) == [
        "masks.csv",
        "masks.polygons.json",
        "overlay.png",
        "setting.json",
        "yolo",
    ]
    polygons = read_coco((folder / "masks.polygons.json").read_bytes())
    assert json.loads((folder / "masks.polygons.json").read_text())["info"]["polygon_tolerance"] == 0.5
    assert [a.category for a in polygons.annotations] == ["object"] * len(scene_masks)
    for annotation in polygons.annotations:
        assert iou(annotation.mask, scene_masks[annotation.raw["mask_id"]]) >= 0.98
    dataset = read_yolo_dataset(folder / "yolo")
    assert list(dataset.images) == ["scene"] and len(dataset.instances["scene"]) == len(scene_masks)
    assert main([*arguments, "--export", "coco-rle", "--polygon-holes", "rings"]) == 0


def test_compare_refuses_an_unknown_export_in_one_line(tmp_path, image_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["compare", str(image_path), "--export", "coco-rle,voc", "--out", str(tmp_path)])
    assert exited.value.code == 2
    assert "unknown export 'voc'" in capsys.readouterr().err


def test_one_compare_holds_settings_of_sam_and_sam2(tmp_path, image_path):
    """A setting's JSON names its model (here a SAM 2.1 checkpoint path); the others run on --model."""
    pytest.importorskip("sam2", reason="SAM 2 settings need the sam2 package")
    from samcompare.families import SAM2

    torch.manual_seed(0)
    sam2_file = tmp_path / "random_sam2_tiny.pt"
    torch.save({"model": SAM2.build("sam2.1_hiera_t").state_dict()}, sam2_file)
    setting = tmp_path / "sam2.json"
    setting.write_text(
        json.dumps(
            {
                "name": "SAM 2.1, m2m",
                "model": str(sam2_file),
                "points_per_side": 3,
                "pred_iou_thresh": 0.0,
                "stability_score_thresh": 0.0,
                "use_m2m": True,
            }
        )
    )
    out = tmp_path / "out"
    code = main(
        ["compare", str(image_path), "--config", str(setting), "--config", str(_demo_setting(tmp_path)),
         "--model", "demo", "--device", "cpu", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    table = pd.read_csv(out / "comparison.csv")
    assert table["setting"].tolist() == ["SAM 2.1, m2m", "demo grid"]
    assert table["model"].tolist() == [str(sam2_file), "demo"]
    assert (table["mask_count"] > 0).all()
    written = AmgConfig.from_json(next(out.glob("**/*setting*.json")).read_text())
    assert written.model is not None


def _demo_setting(tmp_path):
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({"name": "demo grid", "points_per_side": 6, "pred_iou_thresh": 0.5}))
    return path
