import json

import numpy as np
from pycocotools.coco import COCO

from samcompare.config import AmgConfig
from samcompare.results.exports.png import read_png
from samcompare.results.report import slugify, unique_slugs, write_comparison


def test_slugs_are_plain_and_unique():
    assert slugify("SAM default") == "sam-default"
    assert slugify("  Héllo / wörld! ") == "hello-world"
    assert slugify("日本語") == "setting"
    assert unique_slugs(["A b", "a-b", "c", "a b"]) == ["a-b", "a-b-2", "c", "a-b-3"]


def test_write_comparison_lays_out_every_file(tmp_path, scene_image, scene_masks, make_run_result):
    results = [
        make_run_result(scene_masks, AmgConfig()),
        make_run_result(scene_masks[1:], AmgConfig(name="High precision", pred_iou_thresh=0.98)),
        make_run_result(scene_masks[:2], AmgConfig(name="third", points_per_side=6)),
    ]
    files = write_comparison(tmp_path / "out", scene_image, results, image_file_name="scene.png")
    assert [d.name for d in files.setting_dirs] == ["sam-default", "high-precision", "third"]
    assert len(files.table) == 3 and (files.out_dir / "comparison.csv").is_file()
    for folder, result in zip(files.setting_dirs, results, strict=True):
        assert AmgConfig.from_json((folder / "setting.json").read_text()) == result.config
        assert len(COCO(str(folder / "masks.coco.json")).anns) == len(result)
        assert (folder / "masks.csv").read_text().startswith("id,area,")
        assert read_png((folder / "overlay.png").read_bytes()).shape == scene_image.shape
    assert files.match_report is not None
    assert files.match_report.only_in_a == (0,) and files.match_report.matched_count == len(scene_masks) - 1
    assert (files.out_dir / "match.csv").read_text().startswith("a_id,b_id,iou,status")
    assert read_png((files.out_dir / "match.png").read_bytes()).shape[1] == scene_image.shape[1]
    info = json.loads((files.setting_dirs[0] / "masks.coco.json").read_text())["images"][0]
    assert info["file_name"] == "scene.png"
    assert np.isclose(files.table.loc[0, "run_seconds"], 1.5)
