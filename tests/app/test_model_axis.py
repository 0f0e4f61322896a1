"""The model as a comparison axis in the app: a setting may run on a model of its own, SAM 2.1 included.

A SAM 2.1 Hiera-tiny with seeded random weights stands in for the published checkpoint (which cannot
be downloaded here): it costs the same compute and runs the same code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from samcompare.engine import compare
from tests.app.conftest import DASHBOARD, TIMEOUT_S, edit_settings, make_fast, run_button, setting_rows, texts

SAM2_NAME = "sam2.1_hiera_tiny"


@pytest.fixture(scope="module")
def sam2_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sam2", reason="SAM 2 models need the sam2 package")
    from samcompare.families import SAM2

    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    model = SAM2.build("sam2.1_hiera_t")
    torch.save({"model": model.state_dict()}, folder / f"{SAM2_NAME}.pt")  # as the official files wrap it
    return folder


@pytest.fixture
def app_with_sam2(sam2_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("SAMCOMPARE_WEIGHTS", str(sam2_weights))
    monkeypatch.setenv("SAMCOMPARE_HOME", str(tmp_path))
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S * 2)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_setting_runs_on_sam2_beside_one_on_the_sidebar_model(app_with_sam2: AppTest, demo_sam) -> None:
    at = app_with_sam2
    make_fast(at, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    # SAM 2's own parameter on a setting that runs on the sidebar's SAM: refused, named, nothing lost.
    edit_settings(at, {1: {"multimask_output": False}})
    assert "is a SAM 2 setting" in texts(at.error)
    assert setting_rows(at)[1].form["multimask_output"] is False  # what was typed stays
    assert setting_rows(at)[1].valid.multimask_output  # the last valid setting is what would run
    # The same setting on SAM 2.1 (fewer points: its decoder is the slow part on a CPU) is valid.
    edit_settings(at, {1: {"model": SAM2_NAME, "points_per_side": 4, "crop_n_layers": 0}})
    assert not at.error, texts(at.error)
    configs = [row.valid for row in setting_rows(at)]
    assert configs[0].model is None and configs[1].model == SAM2_NAME and not configs[1].multimask_output
    run_button(at).click().run()
    assert not at.exception, at.exception
    run = at.session_state["comparison_run"]
    assert [run.model_for(i) for i in range(2)] == ["demo", SAM2_NAME]
    assert run.models_text == f"demo, {SAM2_NAME}"
    # The sidebar model's setting is exactly what the engine gives for it alone; SAM 2's ran on SAM 2.
    (alone,) = compare(demo_sam, run.image, [configs[0]])
    assert len(alone) == len(run.results[0]) > 0
    assert all(np.array_equal(a, b) for a, b in zip(alone.counts, run.results[0].counts, strict=True))
    sam2_result = run.results[1]
    assert sam2_result.config.model == SAM2_NAME
    assert sam2_result.funnel is not None and len(sam2_result.funnel) == 16  # 4 x 4 points, one candidate each
    captions = texts(at.markdown)
    assert f"· {SAM2_NAME}" in captions and "· demo" in captions  # each picture says which model
    # A SAM 2.1 run's masks are records like any other: the Why page explains them without an error.
    at.switch_page("pages/why.py").run()
    assert not at.exception, at.exception
    assert f"demo, {SAM2_NAME}" in texts(at.caption)
