"""The `sweep` subcommand: one decode, one row per cell, counts equal to official runs, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from engine_helpers import official_records
from PIL import Image

from samcompare.cli import main
from samcompare.config import AmgConfig
from samcompare.demo.shapes import generate_scene
from samcompare.models import load_model


@pytest.fixture
def image_path(tmp_path):
    path = tmp_path / "scene.png"
    Image.fromarray(generate_scene(np.random.default_rng(41), 96, 112).image).save(path)
    return path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_sweep_writes_one_row_per_cell_equal_to_official_runs(tmp_path, capsys, image_path):
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"points_per_side": 6, "crop_n_layers": 1, "min_mask_region_area": 20}))
    out = tmp_path / "out"
    args = ["sweep", str(image_path), "--config", str(base), "--pred-iou", "0.0,0.5", "--stability", "0.5:0.9:3"]
    code = main([*args, "--box-nms", "0.5,0.7", "--model", "demo", "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(out / "sweep.csv")
    assert list(frame.columns) == [
        "pred_iou_thresh",
        "stability_score_thresh",
        "box_nms_thresh",
        "masks",
        "coverage_pct",
    ]
    assert len(frame) == 2 * 3 * 2
    html = (out / "sweep.html").read_text()
    assert "plotly" in html.lower() and "Sweep of base" in html
    printed = capsys.readouterr().out
    assert "12 cells filtered" in printed and "wrote" in printed
    model = load_model("demo", device="cpu")
    image = np.asarray(Image.open(image_path).convert("RGB"))
    setting = AmgConfig.from_json(base.read_text().replace("{", '{"name": "base", ', 1))
    for row in frame.iloc[[0, 5, 11]].itertuples():
        cell = setting.replace(
            pred_iou_thresh=row.pred_iou_thresh,
            stability_score_thresh=row.stability_score_thresh,
            box_nms_thresh=row.box_nms_thresh,
        )
        assert row.masks == len(official_records(model, image, cell) or [])


def test_sweep_refuses_bad_values_in_one_line(tmp_path, capsys, image_path):
    args = ["sweep", str(image_path), "--preset", "Fast preview", "--stability", "0.5,0.9", "--out", str(tmp_path)]
    assert main([*args, "--pred-iou", "0.5:0.9"]) == 2
    assert "start:stop:count" in one_error_line(capsys)
    assert main([*args, "--pred-iou", "0.5,3"]) == 2
    assert "pred_iou_thresh: must be in" in one_error_line(capsys)
    assert main([*args, "--pred-iou", "0.5", "--min-area", "-4"]) == 2
    assert "min_mask_region_area" in one_error_line(capsys)
    assert (
        main(["sweep", str(tmp_path / "none.png"), "--preset", "SAM default", "--pred-iou", "1", "--stability", "1"])
        == 2
    )
    assert "image not found" in one_error_line(capsys)
