"""`python -m samcompare tune`: best.json that --config accepts, trials.csv, the best score beside the start's."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from samcompare.cli import main, read_setting_file
from samcompare.results.exports.label_map import write_label_map_png
from samcompare.samples import HELDOUT_DIR, sample_ground_truth

SCENE = HELDOUT_DIR / "scene_00.png"


@pytest.fixture
def label_map_path(tmp_path):
    truth = sample_ground_truth("Shapes 00")
    return write_label_map_png(tmp_path / "gt.png", truth.run_masks())


@pytest.fixture
def start(tmp_path):
    path = tmp_path / "start.json"
    path.write_text(json.dumps({"name": "grid 12", "points_per_side": 12}))
    return path


def test_tune_writes_the_best_setting_and_every_trial(tmp_path, capsys, label_map_path, start):
    out = tmp_path / "out"
    args = ["tune", str(SCENE), "--gt", str(label_map_path), "--config", str(start), "--objective", "f1_50"]
    code = main([*args, "--trials", "15", "--seed", "2", "--model", "demo", "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "maximising F1 at IoU 0.5 from 'grid 12'" in printed and "decoding first:" in printed
    assert "official generator:" in printed and "against" in printed and "tuned on one image" in printed
    best = read_setting_file(out / "best.json")
    assert best.name == "tuned f1_50" and best.points_per_side == 12
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 15 and {"value", "pred_iou_thresh", "f1_50", "ap"} <= set(trials.columns)
    assert trials["value"].max() == pytest.approx(float(printed.split("best f1_50 ")[1].split()[0]), abs=1e-4)


def test_tune_refuses_bad_input_in_one_line(tmp_path, capsys, label_map_path):
    base = ["tune", str(SCENE), "--gt", str(label_map_path), "--model", "demo", "--out", str(tmp_path)]
    assert main([*base, "--objective", "agreement_50"]) == 2
    assert "agreement needs marked masks" in _error(capsys)
    assert main([*base, "--objective", "f3"]) == 2
    assert "unknown objective" in _error(capsys)
    wrong = tmp_path / "wrong.png"
    write_label_map_png(wrong, sample_ground_truth("Shapes 01").run_masks())  # another size? same 128 px
    other = HELDOUT_DIR / "scene_05.png"
    assert main(["tune", str(other), "--gt", str(label_map_path), "--model", "demo", "--out", str(tmp_path)]) == 2
    assert "ground truth is" in _error(capsys)


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]
