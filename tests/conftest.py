"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from samcompare.demo.architecture import build_demo_sam

DEMO_CHECKPOINT = Path(__file__).resolve().parents[1] / "samcompare" / "demo" / "assets" / "sam_demo.pth"


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
