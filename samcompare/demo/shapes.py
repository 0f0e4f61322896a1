"""Synthetic scenes of coloured shapes with exact ground truth, for the demo SAM.

Scenes are drawn with OpenCV straight into a label map, so the ground truth is exact and a
scene costs well under a millisecond at 128 px: data generation never holds back training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SHAPE_KINDS = ("rectangle", "ellipse", "triangle", "polygon")

# A shape whose visible part covers less of the image than this is drawn (as clutter) but is not
# a ground-truth object. It is one of the demo model's 4 px patches at its 64 px input (8 x 8 px
# of a 128 px scene): what a single embedding token sees, as a 16 x 16 px patch is for SAM's
# 1024 px input. Smaller shapes lie below the model's resolution.
MIN_VISIBLE_FRACTION = 1 / 256


@dataclass(frozen=True)
class ShapeScene:
    """One synthetic image and its occlusion-aware ground truth."""

    image: np.ndarray  # (H, W, 3) uint8, RGB
    labels: np.ndarray  # (H, W) uint16: 0 = background, i = visible part of shape i
    kinds: tuple[str, ...]  # kinds[i - 1] is the kind of shape i

    @property
    def min_visible_area(self) -> int:
        height, width = self.labels.shape
        return max(4, round(MIN_VISIBLE_FRACTION * height * width))

    def object_ids(self) -> list[int]:
        """Ids of the shapes large enough to count as ground-truth objects."""
        counts = np.bincount(self.labels.ravel(), minlength=len(self.kinds) + 1)
        return [i for i in range(1, len(self.kinds) + 1) if counts[i] >= self.min_visible_area]

    def object_masks(self) -> list[np.ndarray]:
        return [self.labels == i for i in self.object_ids()]


def _contrasting_colour(rng: np.random.Generator, avoid: list[np.ndarray]) -> np.ndarray:
    best, best_distance = None, -1.0
    for _ in range(12):
        colour = rng.integers(0, 256, size=3).astype(np.float32)
        distance = min(float(np.linalg.norm(colour - a)) for a in avoid) if avoid else 999.0
        if distance >= 90:
            return colour
        if distance > best_distance:
            best, best_distance = colour, distance
    assert best is not None
    return best


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    base = rng.integers(20, 236, size=3).astype(np.float32)
    image = np.broadcast_to(base, (height, width, 3)).copy()
    style = rng.integers(0, 4)
    amplitude = rng.uniform(6, 22)
    if style == 0:  # smooth blotches
        coarse = rng.normal(0, 1, size=(int(rng.integers(3, 9)), int(rng.integers(3, 9)), 3))
        image += amplitude * cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    elif style == 1:  # stripes
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(4, 14) * max(height, width) / 128
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
        image += amplitude * wave[..., None]
    elif style == 2:  # fine checker
        cell = max(2, int(rng.integers(3, 9) * max(height, width) / 128))
        yy, xx = np.mgrid[0:height, 0:width]
        image += amplitude * (((xx // cell + yy // cell) % 2) * 2 - 1)[..., None]
    return image


def _shape_mask(
    rng: np.random.Generator, kind: str, centre: np.ndarray, radius: float, height: int, width: int
) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    angle = rng.uniform(0, 360)
    if kind == "rectangle":
        aspect = rng.uniform(0.35, 1.0)
        size = (2 * radius, 2 * radius * aspect)
        corners = cv2.boxPoints(((float(centre[0]), float(centre[1])), size, angle))
        cv2.fillPoly(mask, [np.round(corners).astype(np.int32)], 1)
    elif kind == "ellipse":
        axes = (max(1, round(radius)), max(1, round(radius * rng.uniform(0.4, 1.0))))
        cv2.ellipse(mask, (round(centre[0]), round(centre[1])), axes, angle, 0, 360, 1, -1)
    else:
        n_vertices = 3 if kind == "triangle" else int(rng.integers(5, 9))
        angles = (
            np.sort(rng.uniform(0, 2 * np.pi, n_vertices))
            if kind == "polygon"
            else (rng.uniform(0, 2 * np.pi) + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3]) + rng.normal(0, 0.25, 3))
        )
        radii = radius * (rng.uniform(0.55, 1.0, n_vertices) if kind == "polygon" else np.ones(3))
        points = centre + np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def generate_scene(rng: np.random.Generator, height: int = 128, width: int = 128) -> ShapeScene:
    """Draw 3-9 shapes, some small, some overlapping, some nested, on a textured background."""
    scale = min(height, width)
    image = _background(rng, height, width)
    background_colour = image.reshape(-1, 3).mean(axis=0)
    labels = np.zeros((height, width), np.uint16)
    kinds: list[str] = []
    placed: list[tuple[np.ndarray, float, np.ndarray]] = []  # centre, radius, colour
    for _ in range(int(rng.integers(3, 10))):
        kind = SHAPE_KINDS[int(rng.integers(0, len(SHAPE_KINDS)))]
        avoid = [background_colour]
        if placed and rng.uniform() < 0.25:  # nested inside an earlier, larger shape
            parent_centre, parent_radius, parent_colour = placed[int(rng.integers(0, len(placed)))]
            radius = parent_radius * rng.uniform(0.25, 0.5)
            centre = parent_centre + rng.uniform(-0.3, 0.3, 2) * parent_radius
            avoid.append(parent_colour)
        else:
            radius = scale * float(np.exp(rng.uniform(np.log(0.04), np.log(0.28))))
            centre = rng.uniform(0, 1, 2) * np.array([width, height])
            for other_centre, other_radius, other_colour in placed:
                if np.linalg.norm(other_centre - centre) < radius + other_radius:
                    avoid.append(other_colour)
        colour = _contrasting_colour(rng, avoid)
        mask = _shape_mask(rng, kind, centre, radius, height, width)
        if not mask.any():
            continue
        fill = np.broadcast_to(colour, (height, width, 3))
        if rng.uniform() < 0.35:  # gentle shading, as lit objects have
            yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
            direction = rng.normal(0, 1, 2)
            gradient = (xx * direction[0] + yy * direction[1]) / (scale * np.linalg.norm(direction) + 1e-6)
            fill = fill + rng.uniform(10, 30) * (gradient - gradient[mask].mean())[..., None]
        image[mask] = fill[mask]
        labels[mask] = len(kinds) + 1
        kinds.append(kind)
        placed.append((centre, radius, colour))
    image += rng.normal(0, rng.uniform(1.5, 7.0), size=image.shape)
    return ShapeScene(image=np.clip(image, 0, 255).astype(np.uint8), labels=labels, kinds=tuple(kinds))


def save_scene(scene: ShapeScene, directory: Path, stem: str) -> None:
    """PNG image plus 16-bit PNG label map: readable by any tool, exact, small."""
    directory.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(directory / f"{stem}.png"), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(directory / f"{stem}_labels.png"), scene.labels)


def load_scene(image_path: Path) -> ShapeScene:
    bgr = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    labels = cv2.imread(str(image_path.with_name(image_path.stem + "_labels.png")), cv2.IMREAD_UNCHANGED)
    if bgr is None or labels is None:
        raise FileNotFoundError(f"cannot read scene {image_path} and its _labels.png")
    n_shapes = int(labels.max())
    return ShapeScene(
        image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), labels=labels.astype(np.uint16), kinds=("shape",) * n_shapes
    )
