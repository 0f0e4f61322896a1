"""`python -m samcompare evaluate`, run in-process with the demo model on a held-out shape scene."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from segment_anything import SamAutomaticMaskGenerator

from samcompare.cli import main
from samcompare.config import AmgConfig
from samcompare.evaluation import evaluate_run, load_ground_truth, metrics_columns
from samcompare.models import load_model
from samcompare.results.exports.label_map import write_label_map_png
from samcompare.samples import HELDOUT_DIR, load_sample, sample_ground_truth

SCENE = HELDOUT_DIR / "scene_05.png"  # 192 x 256 px (W x H), not square
SAMPLE = "Shapes 05"
FAST = {"points_per_side": 8, "pred_iou_thresh": 0.5, "stability_score_thresh": 0.6}


@pytest.fixture
def label_map_path(tmp_path):  # noqa: ANN001, ANN201 - pytest fixtures
    truth = sample_ground_truth(SAMPLE)
    assert truth is not None
    return write_label_map_png(tmp_path / "scene_05_gt.png", truth.run_masks())


@pytest.fixture
def fast_configs(tmp_path):  # noqa: ANN001, ANN201
    paths = []
    for name, changes in (("grid8", {}), ("grid8 strict", {"pred_iou_thresh": 0.9})):
        path = tmp_path / f"{name.replace(' ', '_')}.json"
        path.write_text(json.dumps({"name": name, **FAST, **changes}))
        paths.append(path)
    return paths


def one_error_line(capsys) -> str:  # noqa: ANN001
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


def test_evaluate_writes_metrics_csv_equal_to_the_official_generator_scored(
    tmp_path,
    capsys,
    label_map_path,
    fast_configs,  # noqa: ANN001
) -> None:
    out = tmp_path / "out"
    args = ["evaluate", str(SCENE), "--gt", str(label_map_path), "--iou", "0.5,0.6,0.75"]
    args += [arg for path in fast_configs for arg in ("--config", str(path))]
    code = main([*args, "--model", "demo", "--device", "cpu", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    table = pd.read_csv(out / "metrics.csv")
    assert list(table.columns) == metrics_columns((0.5, 0.6, 0.75))
    assert table["setting"].tolist() == ["grid8", "grid8 strict"]
    assert (table["gt_objects"] == len(sample_ground_truth(SAMPLE))).all()
    assert "grid8 strict" in captured.out and "f1_60" in captured.out and "wrote" in captured.out

    # The same figures as scoring the official generator's own masks for each setting.
    truth = load_ground_truth(label_map_path, (256, 192))
    model = load_model("demo", device="cpu")
    for row, path in zip(table.to_dict("records"), fast_configs, strict=True):
        config = AmgConfig.from_json(path.read_text())
        with torch.inference_mode():
            records = SamAutomaticMaskGenerator(model, **config.to_kwargs()).generate(load_sample(SAMPLE))
        expected = evaluate_run(records, truth, (0.5, 0.6, 0.75), setting=config.name).row()
        for column, value in expected.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(row[column]), column
            else:
                assert row[column] == pytest.approx(value, abs=1e-12), column
    assert table["masks"].iloc[0] > table["masks"].iloc[1]  # the strict setting keeps fewer masks


def test_ground_truth_of_another_size_ends_in_one_line(tmp_path, capsys, fast_configs) -> None:  # noqa: ANN001
    wrong = sample_ground_truth("Shapes 00")  # 128 x 128
    assert wrong is not None
    path = write_label_map_png(tmp_path / "wrong.png", wrong.run_masks())
    args = ["evaluate", str(SCENE), "--gt", str(path), "--config", str(fast_configs[0]), "--model", "demo"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    assert one_error_line(capsys) == "error: wrong.png: ground truth is 128 x 128 px, the image is 192 x 256 px"
    assert not (tmp_path / "out").exists()


def test_bad_ground_truth_and_bad_thresholds(tmp_path, capsys) -> None:  # noqa: ANN001
    blank = tmp_path / "blank.png"
    write_label_map_png(blank, [], image_shape=(256, 192))
    assert main(["evaluate", str(SCENE), "--gt", str(blank), "--model", "demo"]) == 2
    assert "blank.png: no objects" in one_error_line(capsys)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["evaluate", str(SCENE), "--gt", str(broken), "--model", "demo"]) == 2
    assert "broken.json: not valid JSON" in one_error_line(capsys)
    assert main(["evaluate", str(SCENE), "--gt", str(tmp_path / "absent.png")]) == 2
    assert "absent.png: file not found" in one_error_line(capsys)
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(SCENE), "--gt", str(blank), "--iou", "0.5,1.5"])
    assert exit_info.value.code == 2
    assert "must be in (0, 1]" in capsys.readouterr().err


def test_label_map_written_for_the_test_is_the_sample_ground_truth(label_map_path) -> None:  # noqa: ANN001
    loaded = load_ground_truth(label_map_path, (256, 192))
    truth = sample_ground_truth(SAMPLE)
    assert truth is not None
    assert all(np.array_equal(a, b) for a, b in zip(loaded.masks(), truth.masks(), strict=True))
