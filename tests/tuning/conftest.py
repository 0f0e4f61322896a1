"""The tuning tests use the engine tests' models and helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from blob_sam import build_blob_sam  # noqa: E402


@pytest.fixture(scope="session")
def island_sam():
    return build_blob_sam(islands=True)
