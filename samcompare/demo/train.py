"""Train the demo SAM on synthetic shapes: `python -m samcompare.demo.train`.

SAM's recipe at toy scale: one encoder pass per image, all of that image's point prompts through
the decoder in one call, the best of the three multimask outputs supervised (plus the single-mask
output), and the IoU head regressed to the true IoU of every output. Seeded and single-process,
so the same command gives the same weights on the same machine.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from samcompare.demo.architecture import DEMO_SPEC, build_demo_sam
from samcompare.demo.shapes import ShapeScene, generate_scene

DEFAULT_OUTPUT = Path(__file__).parent / "assets" / "sam_demo.pth"


@dataclass(frozen=True)
class TrainingRecipe:
    steps: int = 2000
    images_per_step: int = 8
    points_per_image: int = 32
    background_point_fraction: float = 0.1
    learning_rate: float = 2e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    bce_weight: float = 1.0
    seed: int = 0


def sample_prompts(scene: ShapeScene, rng: np.random.Generator, count: int, background_fraction: float):
    """Point prompts (x, y) and the mask each should give: a shape, or the background region."""
    object_ids = scene.object_ids()
    points, targets = [], []
    for _ in range(count):
        wants_background = rng.uniform() < background_fraction or not object_ids
        region = 0 if wants_background else object_ids[int(rng.integers(0, len(object_ids)))]
        ys, xs = np.nonzero(scene.labels == region)
        if len(ys) == 0:
            region = object_ids[0]
            ys, xs = np.nonzero(scene.labels == region)
        pick = int(rng.integers(0, len(ys)))
        points.append((xs[pick] + rng.uniform(-0.4, 0.4), ys[pick] + rng.uniform(-0.4, 0.4)))
        targets.append(scene.labels == region)
    return np.asarray(points, np.float32), np.stack(targets)


def dice_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    probs = logits.sigmoid().flatten(-2)
    targets = targets.flatten(-2)
    numerator = 2 * (probs * targets).sum(-1)
    denominator = probs.sum(-1) + targets.sum(-1)
    return 1 - (numerator + 1) / (denominator + 1)


def mask_iou(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    predicted = (logits > 0).flatten(-2)
    truth = targets.flatten(-2) > 0.5
    intersection = (predicted & truth).sum(-1).float()
    union = (predicted | truth).sum(-1).float()
    return intersection / union.clamp(min=1)


def training_step(sam, scenes: list[ShapeScene], rng: np.random.Generator, recipe: TrainingRecipe) -> dict[str, float]:
    images = torch.from_numpy(np.stack([s.image for s in scenes])).permute(0, 3, 1, 2).float()
    embeddings = sam.image_encoder((images - sam.pixel_mean) / sam.pixel_std)
    dense_pe = sam.prompt_encoder.get_dense_pe()
    total_mask_loss, total_iou_loss, best_ious = [], [], []
    for index, scene in enumerate(scenes):
        points, targets_np = sample_prompts(scene, rng, recipe.points_per_image, recipe.background_point_fraction)
        coords = torch.from_numpy(points)[:, None, :]
        labels = torch.ones(coords.shape[:2], dtype=torch.int)
        sparse, dense = sam.prompt_encoder(points=(coords, labels), boxes=None, masks=None)
        logits, iou_predictions = sam.mask_decoder.predict_masks(
            image_embeddings=embeddings[index : index + 1],
            image_pe=dense_pe,
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
        )  # logits: (K, 4, 128, 128); output 0 is the single-mask output, 1-3 the multimask ones
        full_targets = torch.from_numpy(targets_np).float()[:, None]
        # Supervise the low-resolution masks directly (cheap) with hard targets: soft, area-fraction
        # targets teach logits near 0 along every edge, and such masks are never "stable". The IoU
        # head is regressed on the full-resolution masks the generator will actually cut.
        low_res_targets = (F.adaptive_avg_pool2d(full_targets, logits.shape[-2:]) >= 0.5).float().expand_as(logits)
        # Class-balanced BCE: a small shape's pixels weigh as much as the background's, so the
        # easy answer "all background" is not a resting place.
        targets = low_res_targets
        pixel_bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        positives = targets.sum((-2, -1)).clamp(min=1)
        negatives = (1 - targets).sum((-2, -1)).clamp(min=1)
        bce = 0.5 * (
            (pixel_bce * targets).sum((-2, -1)) / positives + (pixel_bce * (1 - targets)).sum((-2, -1)) / negatives
        )
        per_output = recipe.bce_weight * bce + dice_loss(logits, targets)
        multimask_loss = per_output[:, 1:].min(dim=1).values
        total_mask_loss.append(multimask_loss.mean() + 0.5 * per_output[:, 0].mean())
        with torch.no_grad():
            full_logits = F.interpolate(logits, full_targets.shape[-2:], mode="bilinear", align_corners=False)
            true_iou = mask_iou(full_logits, full_targets.expand_as(full_logits))
        total_iou_loss.append(F.mse_loss(iou_predictions, true_iou))
        best_ious.append(true_iou[:, 1:].max(dim=1).values.mean().item())
    mask_loss = torch.stack(total_mask_loss).mean()
    iou_loss = torch.stack(total_iou_loss).mean()
    (mask_loss + iou_loss).backward()
    return {"mask_loss": mask_loss.item(), "iou_loss": iou_loss.item(), "best_iou": float(np.mean(best_ious))}


def learning_rate_at(step: int, recipe: TrainingRecipe) -> float:
    if step < recipe.warmup_steps:
        return recipe.learning_rate * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(1, recipe.steps - recipe.warmup_steps)
    return recipe.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


def train(recipe: TrainingRecipe, output: Path, log_every: int = 50, checkpoint_every: int = 500) -> Path:
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    sam = build_demo_sam()
    sam.train()
    optimizer = torch.optim.AdamW(sam.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    started = time.perf_counter()
    running: dict[str, list[float]] = {}
    for step in range(recipe.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, recipe)
        scenes = [generate_scene(rng, DEMO_SPEC.img_size, DEMO_SPEC.img_size) for _ in range(recipe.images_per_step)]
        optimizer.zero_grad(set_to_none=True)
        metrics = training_step(sam, scenes, rng, recipe)
        torch.nn.utils.clip_grad_norm_(sam.parameters(), 1.0)
        optimizer.step()
        for key, value in metrics.items():
            running.setdefault(key, []).append(value)
        if (step + 1) % log_every == 0 or step + 1 == recipe.steps:
            summary = "  ".join(f"{k} {np.mean(v):.4f}" for k, v in running.items())
            elapsed = time.perf_counter() - started
            print(f"step {step + 1}/{recipe.steps}  {summary}  {elapsed / 60:.1f} min", flush=True)
            running = {}
        if (step + 1) % checkpoint_every == 0 and step + 1 < recipe.steps:
            torch.save(sam.state_dict(), output.with_suffix(".partial.pth"))
    sam.eval()
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sam.state_dict(), output)
    output.with_suffix(".partial.pth").unlink(missing_ok=True)
    print(f"saved {output} ({output.stat().st_size / 1e6:.1f} MB) after {(time.perf_counter() - started) / 60:.1f} min")
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=TrainingRecipe.steps)
    parser.add_argument("--seed", type=int, default=TrainingRecipe.seed)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (results are reproducible per count)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train(TrainingRecipe(steps=args.steps, seed=args.seed), args.output)


if __name__ == "__main__":
    main()
