"""`python -m samcompare tune FOLDER --gt-dir GT`: best.json, trials.csv, and validation rows equal to `evaluate`'s."""

from __future__ import annotations

import pandas as pd
import pytest

from samcompare.cli import main, read_setting_file

DEMO = ["--model", "demo", "--device", "cpu"]


def test_tune_over_a_folder_holds_images_out_and_validates_them_as_evaluate_does(tmp_path, capsys, scene_dataset):
    out = tmp_path / "out"
    args = ["tune", str(scene_dataset.images), "--gt-dir", str(scene_dataset.truth), "--val-fraction", "0.34"]
    args += ["--config", str(scene_dataset.start), "--trials", "10", "--seed", "2", *DEMO, "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "6 images with ground truth" in printed and "1 without ground truth left out" in printed
    assert "2 of 6 images held out for validation (fraction 0.34, seed 2)" in printed
    assert "candidate pools" in printed and "validation: tuned f1_50" in printed

    best = read_setting_file(out / "best.json")
    assert best.name == "tuned f1_50" and best.points_per_side == 8
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 10 and {"trial", "value", "masks_mean", "pred_iou_thresh", "min_mask_region_area"} <= set(
        trials.columns
    )
    validation = pd.read_csv(out / "validation.csv")
    training = pd.read_csv(out / "training.csv")
    held_out = sorted(set(validation["image"]))
    assert len(held_out) == 2 and not set(held_out) & set(training["image"])
    assert sorted([*held_out, *set(training["image"])]) == list(scene_dataset.names)
    assert validation["setting"].tolist() == ["grid 8", "tuned f1_50"] * 2
    mean = training[training["setting"] == "tuned f1_50"]["f1_50"].mean()
    assert trials["value"].max() == pytest.approx(mean)  # the best trial's value is the training mean

    # Each validation row is what `evaluate` gives for that image and setting.
    for image in held_out:
        evaluated = tmp_path / f"evaluate-{image}"
        code = main(
            [
                "evaluate",
                str(scene_dataset.images / image),
                "--gt",
                str(scene_dataset.truth / image),
                "--config",
                str(scene_dataset.start),
                "--config",
                str(out / "best.json"),
                *DEMO,
                "--out",
                str(evaluated),
            ]
        )
        assert code == 0, capsys.readouterr().err
        metrics = pd.read_csv(evaluated / "metrics.csv")
        rows = validation[validation["image"] == image].drop(columns="image").reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, metrics, check_exact=True)
    capsys.readouterr()


def test_a_validation_folder_replaces_the_split(tmp_path, capsys, scene_dataset):
    out = tmp_path / "out"
    args = ["tune", str(scene_dataset.images), "--gt-dir", str(scene_dataset.truth), "--trials", "3"]
    args += ["--val-dir", str(scene_dataset.images), "--val-gt-dir", str(scene_dataset.truth), *DEMO]
    assert main([*args, "--out", str(out)]) == 2
    assert "the validation folder is the training folder" in _error(capsys)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gt", "x.png"], "give --gt-dir GTDIR, not --gt"),
        ([], "needs --gt-dir GTDIR"),
        (["--gt-dir", "GT", "--val-fraction", "1.5"], "validation fraction must be in [0, 1)"),
        (["--gt-dir", "GT", "--val-dir", "IMAGES"], "--val-dir and --val-gt-dir go together"),
        (["--gt-dir", "GT", "--val-fraction", "0.2", "--val-dir", "IMAGES", "--val-gt-dir", "GT"], "not both"),
        (["--gt-dir", "missing"], "ground-truth folder not found"),
        (["--gt-dir", "IMAGES"], "no image in"),
        (["--gt-dir", "GT", "--objective", "agreement_50"], "over a folder use f1, recall or ap"),
    ],
)
def test_folder_options_that_do_not_fit_say_why_in_one_line(tmp_path, capsys, scene_dataset, extra, message):
    names = {"GT": str(scene_dataset.truth), "IMAGES": str(tmp_path)}
    extra = [names.get(value, value) for value in extra]
    code = main(["tune", str(scene_dataset.images), *extra, "--trials", "1", *DEMO, "--out", str(tmp_path / "o")])
    assert code == 2
    assert message in _error(capsys)


def test_one_image_refuses_the_folder_options(tmp_path, capsys, scene_dataset):
    image = scene_dataset.images / scene_dataset.names[0]
    assert main(["tune", str(image), "--gt-dir", str(scene_dataset.truth), *DEMO]) == 2
    assert "is one image" in _error(capsys)
    assert main(["tune", str(image), *DEMO]) == 2
    assert "--gt FILE" in _error(capsys)


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]
