"""Measure the polygon exports: IoU rasterised back, points per mask, how often a mask is tightened, time.

    python bench/bench_polygons.py [--tolerance 1.0] [--points 16]

Mask sets: the official generator's masks with the demo SAM on the 12 held-out shape scenes, scaled
up 4 times (to 1024 px, the size of masks on a photo for SAM), and the regions of a real
photo (scikit-image's coins, thresholded: ragged edges and holes), with the whole foreground and
its complement. Each mask becomes COCO polygons (holes bridged) and one YOLO polygon; IoU is that
of pycocotools' rasterisation with the mask.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segment_anything import SamAutomaticMaskGenerator  # noqa: E402

from samcompare.models import load_model  # noqa: E402
from samcompare.results.exports.polygons import iou, mask_polygons, rasterise  # noqa: E402
from samcompare.samples import SHAPES, load_sample, sample_names  # noqa: E402


def generator_masks(points: int, scale: int) -> list[np.ndarray]:
    model = load_model("demo", "cpu")
    generator = SamAutomaticMaskGenerator(
        model, points_per_side=points, pred_iou_thresh=0.5, stability_score_thresh=0.5
    )
    masks = []
    for name in sample_names(SHAPES):
        image = load_sample(name)
        image = np.kron(image, np.ones((scale, scale, 1), dtype=np.uint8))
        with torch.inference_mode():
            masks += [record["segmentation"] for record in generator.generate(image)]
    return masks


def photo_masks() -> list[np.ndarray]:
    import skimage.data
    import skimage.filters
    import skimage.measure

    coins = skimage.data.coins()
    foreground = coins > skimage.filters.threshold_otsu(coins)
    labels = skimage.measure.label(foreground)
    return [*(labels == i for i in range(1, labels.max() + 1) if (labels == i).sum() >= 30), foreground, ~foreground]


def measure(name: str, masks: list[np.ndarray], tolerance: float) -> None:
    for single in (False, True):
        ious, points, tightened = [], [], 0
        tick = time.perf_counter()
        for mask in masks:
            shapes = mask_polygons(mask, tolerance, single=single)
            ious.append(iou(rasterise(list(shapes.polygons), mask.shape), mask))
            points.append(sum(len(p) for p in shapes.polygons))
            tightened += shapes.tolerance < tolerance
        seconds = time.perf_counter() - tick
        kind = "YOLO (one polygon)" if single else "COCO polygons"
        areas = [int(m.sum()) for m in masks]
        print(
            f"| {name} | {kind} | {len(masks)} | {min(areas):,}-{max(areas):,} | {min(ious):.4f} | "
            f"{np.mean(ious):.4f} | {np.median(points):.0f} | {tightened} | {1000 * seconds / len(masks):.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=1.0)
    parser.add_argument("--points", type=int, default=16, help="points per side of the generator")
    parser.add_argument("--scale", type=int, default=4, help="the shape scenes are scaled up this many times")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| masks | format | count | area px | min IoU | mean IoU | median points | tightened | ms per mask |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    measure("demo SAM, held-out scenes", generator_masks(args.points, args.scale), args.tolerance)
    measure("coins photo regions", photo_masks(), args.tolerance)


if __name__ == "__main__":
    main()
