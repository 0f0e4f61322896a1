"""How good the demo SAM is: shape recall on held-out scenes, with the official generator.

`python -m samcompare.demo.evaluate` prints the table the README shows;
`python -m samcompare.demo.evaluate --write-heldout` regenerates the held-out scenes.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from segment_anything import SamAutomaticMaskGenerator
from segment_anything.modeling import Sam

from samcompare.config import AmgConfig
from samcompare.demo.shapes import ShapeScene, generate_scene, load_scene, save_scene

HELDOUT_DIR = Path(__file__).parent / "assets" / "heldout"
HELDOUT_SEED = 20_261_128  # a stream of its own: training draws from seed 0
HELDOUT_COUNT = 12
MATCH_IOU = 0.75
SIZE_EDGES = (0.01, 0.05)  # shape area as a share of the image: small / medium / large


@dataclass(frozen=True)
class ShapeRecall:
    setting: str
    shapes: int
    matched: int
    mean_best_iou: float
    masks: int
    masks_on_a_region: int  # masks with IoU >= MATCH_IOU against a shape or the background
    shape_fractions: tuple[float, ...] = ()  # per shape: its share of the image's area
    shape_best_ious: tuple[float, ...] = ()  # per shape: the best IoU of any mask with it

    def by_size(self, edges: Sequence[float] = SIZE_EDGES) -> list[tuple[str, int, int]]:
        """(size group, matched, shapes) per group of shape area: where the model falls short."""
        fractions, ious = np.asarray(self.shape_fractions), np.asarray(self.shape_best_ious)
        bounds = [0.0, *edges, np.inf]
        groups = []
        for low, high in zip(bounds[:-1], bounds[1:], strict=True):
            inside = (fractions >= low) & (fractions < high)
            label = f"< {high:.0%}" if low == 0 else f">= {low:.0%}" if high == np.inf else f"{low:.0%}-{high:.0%}"
            groups.append((label, int((ious[inside] >= MATCH_IOU).sum()), int(inside.sum())))
        return groups

    @property
    def recall(self) -> float:
        return self.matched / max(1, self.shapes)

    @property
    def precision(self) -> float:
        return self.masks_on_a_region / max(1, self.masks)


def write_heldout(directory: Path = HELDOUT_DIR, count: int = HELDOUT_COUNT) -> list[Path]:
    rng = np.random.default_rng(HELDOUT_SEED)
    paths = []
    for index in range(count):
        # Mostly the training size, plus larger and non-square scenes the model sees resized.
        height, width = [(128, 128), (128, 128), (128, 128), (96, 160), (192, 192), (256, 192)][index % 6]
        save_scene(generate_scene(rng, height, width), directory, f"scene_{index:02d}")
        paths.append(directory / f"scene_{index:02d}.png")
    return paths


def load_heldout(directory: Path = HELDOUT_DIR) -> list[ShapeScene]:
    return [load_scene(path) for path in sorted(directory.glob("scene_??.png"))]


def _iou_matrix(masks: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """IoU of every mask (M, H, W) with every region (R, H, W), as one matrix product."""
    flat_masks = masks.reshape(len(masks), -1).astype(np.float32)
    flat_regions = regions.reshape(len(regions), -1).astype(np.float32)
    intersection = flat_masks @ flat_regions.T
    union = flat_masks.sum(1)[:, None] + flat_regions.sum(1)[None, :] - intersection
    return intersection / np.maximum(union, 1)


def shape_recall(model: Sam, scenes: Sequence[ShapeScene], config: AmgConfig) -> ShapeRecall:
    """Recall of the held-out shapes by the official `SamAutomaticMaskGenerator` at `config`."""
    per_scene = []
    for scene in scenes:
        generator = SamAutomaticMaskGenerator(model, **config.to_kwargs())
        with torch.inference_mode():
            per_scene.append([record["segmentation"] for record in generator.generate(scene.image)])
    return _recall(config, scenes, per_scene)


def shape_recalls(model: Sam, scenes: Sequence[ShapeScene], configs: Sequence[AmgConfig]) -> dict[str, ShapeRecall]:
    """`shape_recall` of several settings at once: samcompare's engine decodes each scene once for all of them.

    The engine's masks are the official generator's (tests/engine), so the figures are the same as
    `shape_recall`'s, at the cost of one decode per scene instead of one per setting.
    """
    from samcompare.engine import compare

    masks: dict[str, list[list[np.ndarray]]] = {config.name: [] for config in configs}
    for scene in scenes:
        for config, result in zip(configs, compare(model, scene.image, configs), strict=True):
            masks[config.name].append([result.mask(index) for index in range(len(result))])
    return {config.name: _recall(config, scenes, masks[config.name]) for config in configs}


def _recall(config: AmgConfig, scenes: Sequence[ShapeScene], per_scene: Sequence[Sequence[np.ndarray]]) -> ShapeRecall:
    shapes = matched = masks_total = masks_on_region = 0
    best_ious: list[float] = []
    fractions: list[float] = []
    for scene, masks in zip(scenes, per_scene, strict=True):
        objects = scene.object_masks()
        regions = np.stack([*objects, scene.labels == 0])
        shapes += len(objects)
        fractions += [float(o.mean()) for o in objects]
        masks_total += len(masks)
        if not len(masks):
            best_ious += [0.0] * len(objects)
            continue
        ious = _iou_matrix(np.stack(masks), regions)
        best_per_object = ious[:, : len(objects)].max(axis=0)
        best_ious += best_per_object.tolist()
        matched += int((best_per_object >= MATCH_IOU).sum())
        masks_on_region += int((ious.max(axis=1) >= MATCH_IOU).sum())
    return ShapeRecall(
        setting=config.name,
        shapes=shapes,
        matched=matched,
        mean_best_iou=float(np.mean(best_ious)) if best_ious else 0.0,
        masks=masks_total,
        masks_on_a_region=masks_on_region,
        shape_fractions=tuple(fractions),
        shape_best_ious=tuple(best_ious),
    )


QUALITY_SETTINGS = (
    AmgConfig(name="SAM default"),
    AmgConfig(name="thresholds 0.5", pred_iou_thresh=0.5, stability_score_thresh=0.5),
    AmgConfig(name="pred_iou_thresh 0.95", pred_iou_thresh=0.95),
    AmgConfig(name="pred_iou_thresh 0.98", pred_iou_thresh=0.98),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-heldout", action="store_true")
    parser.add_argument("--checkpoint", default="demo")
    args = parser.parse_args(argv)
    if args.write_heldout:
        for path in write_heldout():
            print(path)
        return
    from samcompare.models.loading import load_model

    model = load_model(args.checkpoint, device="cpu")
    scenes = load_heldout()
    print(f"{len(scenes)} held-out scenes, match = mask IoU >= {MATCH_IOU}\n")
    results = list(shape_recalls(model, scenes, QUALITY_SETTINGS).values())
    print("| setting | shapes found | mean best IoU | masks | masks on a shape or the background |")
    print("|---|---|---|---|---|")
    for result in results:
        print(
            f"| {result.setting} | {result.matched}/{result.shapes} ({result.recall:.0%}) | "
            f"{result.mean_best_iou:.3f} | {result.masks} | {result.precision:.0%} |"
        )
    groups = [label for label, _, _ in results[0].by_size()]
    print("\nShapes found by their share of the image's area:\n")
    print("| setting | " + " | ".join(groups) + " |")
    print("|---|" + "---|" * len(groups))
    for result in results:
        print(f"| {result.setting} | " + " | ".join(f"{m}/{n}" for _, m, n in result.by_size()) + " |")


if __name__ == "__main__":
    main()
