"""A small folder of shape scenes (and a broken file, and a note) that the batch tests share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samcompare.batch import BatchRequest
from samcompare.config import AmgConfig
from samcompare.demo.shapes import generate_scene

SCENES = 6
BROKEN = "broken.jpg"
CONFIGS = (
    AmgConfig(name="grid 8", points_per_side=8, pred_iou_thresh=0.5, stability_score_thresh=0.5),
    AmgConfig(name="grid 8 strict", points_per_side=8, pred_iou_thresh=0.8, stability_score_thresh=0.9),
)


@dataclass(frozen=True)
class SceneFolder:
    path: Path
    names: tuple[str, ...]  # the image files, by name (the broken one included)
    settings: tuple[Path, ...]  # setting files of CONFIGS, for the CLI


def scene_pixels(index: int) -> np.ndarray:
    return generate_scene(np.random.default_rng(100 + index), 96, 112).image


@pytest.fixture(scope="session")
def scene_folder(tmp_path_factory: pytest.TempPathFactory) -> SceneFolder:
    root = tmp_path_factory.mktemp("batch-input")
    folder = root / "scenes"
    folder.mkdir()
    for index in range(SCENES):
        Image.fromarray(scene_pixels(index)).save(folder / f"scene_{index:02d}.png")
    (folder / BROKEN).write_bytes(b"\xff\xd8\xff\xe0 this is not the rest of a JPEG")
    (folder / "notes.txt").write_text("not an image: left out, not a failed row")
    settings = []
    for config in CONFIGS:
        path = root / f"{config.name.replace(' ', '_')}.json"
        path.write_text(config.to_json())
        settings.append(path)
    names = tuple(sorted([BROKEN, *(f"scene_{i:02d}.png" for i in range(SCENES))]))
    return SceneFolder(folder, names, tuple(settings))


def request_for(folder: SceneFolder, out: Path, **changes: object) -> BatchRequest:
    return BatchRequest(folder.path, CONFIGS, "demo", out, device="cpu", **changes)  # type: ignore[arg-type]
