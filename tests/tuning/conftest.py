"""The tuning tests use the engine tests' models and helpers."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from samcompare.results.exports.label_map import write_label_map_png
from samcompare.samples import HELDOUT_DIR, sample_ground_truth

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from blob_sam import build_blob_sam  # noqa: E402


@pytest.fixture(scope="session")
def island_sam():
    return build_blob_sam(islands=True)


@dataclass(frozen=True)
class SceneDataset:
    """Held-out shape scenes in one folder, their exact ground truth as label maps in another."""

    images: Path
    truth: Path
    names: tuple[str, ...]  # image file names that have ground truth, by name
    start: Path  # a setting file: 8 points per side, so every test decodes fast


SCENES = 6


@pytest.fixture(scope="session")
def scene_dataset(tmp_path_factory: pytest.TempPathFactory) -> SceneDataset:
    root = tmp_path_factory.mktemp("dataset")
    images, truth = root / "images", root / "truth"
    images.mkdir()
    truth.mkdir()
    names = []
    for index in range(SCENES):
        name = f"scene_{index:02d}.png"
        shutil.copy(HELDOUT_DIR / name, images / name)
        write_label_map_png(truth / name, sample_ground_truth(f"Shapes {index:02d}").run_masks())
        names.append(name)
    shutil.copy(HELDOUT_DIR / "scene_11.png", images / "no_truth.png")  # an image without ground truth
    (images / "notes.txt").write_text("not an image")
    start = root / "grid8.json"
    start.write_text(json.dumps({"name": "grid 8", "points_per_side": 8}))
    return SceneDataset(images, truth, tuple(names), start)
