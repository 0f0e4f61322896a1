"""Fixtures for the engine tests."""

from __future__ import annotations

import pytest
from blob_sam import build_blob_sam


@pytest.fixture(scope="session")
def blob_sam():
    return build_blob_sam()
