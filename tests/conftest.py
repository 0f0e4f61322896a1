"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from samcompare.demo.architecture import build_demo_sam

DEMO_CHECKPOINT = Path(__file__).resolve().parents[1] / "samcompare" / "demo" / "assets" / "sam_demo.pth"


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
