"""Train the demo SAM on synthetic shapes: `python -m samcompare.demo.train`.

SAM's recipe at toy scale: one encoder pass per image, the point prompts of all the step's
images through the decoder in one call, the best of the three multimask outputs supervised (plus
the single-mask output), and the IoU head regressed to the true IoU of every output. Scenes are
drawn at 128 px and shrunk to the model's 64 px input exactly as `SamAutomaticMaskGenerator`
shrinks them; the loss is taken on the full-size masks. The saved model's mask logits are then
steepened (`sharpen_mask_logits`) so that `stability_score` reads them as it reads SAM's.

Seeded: by default the scenes and prompts come from one generator in this process, so the same
command gives the same weights on the same machine and thread count. For a GPU, `--device` puts
every tensor of a step there, `--images-per-step` and `--points-per-image` fill it, `--workers N`
draws scenes and prompts in N forked DataLoader processes (each its own seeded generator:
reproducible for a given N, but other scenes than in-process), and `--minutes` times the first
steps and sets the step count from them, so that the cosine schedule ends on time.

What raised its quality within the budget (each measured in 6-minute probes against the alternative):
a learning rate of 5e-4 (1e-3 and above learn slower or collapse), 8 prompts per image rather
than 32 (the decoder's per-prompt cost buys more steps), 4 px patches at 64 px rather than 8 px
at 128 px, cross-attention started around the prompt point (`align_decoder_attention`), and a
dense auxiliary loss that teaches the mask features which pixels share a region. What did not:
taking the mask loss on 1,024 sampled pixels per prompt, most of them the hardest of a larger
random set (PointRend's and Mask2Former's importance sampling): cheaper per step, but the
training IoU after 6 minutes fell from about 0.53 to 0.42.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.utils.transforms import ResizeLongestSide
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from samcompare.demo.architecture import build_demo_sam
from samcompare.demo.shapes import ShapeScene, generate_scene
from samcompare.models.catalogue import DEMO_CHECKPOINT
from samcompare.models.loading import ModelLoadError, load_model, resolve_device

DEFAULT_OUTPUT = DEMO_CHECKPOINT

# `minutes` times steps UNTIMED_STEPS + 1 to UNTIMED_STEPS + TIMED_STEPS: the first ones carry
# compiling, cuDNN's autotuning and the data workers' start-up, which later steps do not pay.
UNTIMED_STEPS = 2
TIMED_STEPS = 20


@dataclass(frozen=True)
class TrainingRecipe:
    steps: int = 6000
    scene_size: int = 128
    images_per_step: int = 8
    points_per_image: int = 8
    background_point_fraction: float = 0.1
    learning_rate: float = 5e-4
    warmup_steps: int = 100
    weight_decay: float = 0.01
    bce_weight: float = 1.0
    attention_alignment_gain: float = 3.0
    region_loss_weight: float = 1.0
    region_pixels_per_image: int = 512
    mask_logit_gain: float = 4.0
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


@dataclass(frozen=True)
class TrainingBatch:
    """One step's data as tensors, laid out where the scenes are drawn, so that the loop only moves them."""

    images: torch.Tensor  # (B, h, w, 3) uint8: the scenes shrunk to the model's input as the generator does
    labels: torch.Tensor  # (B, H, W) float32: each scene's region ids, for the region loss
    coords: torch.Tensor  # (N, 1, 2) float32: each prompt point in the model's input frame
    targets: torch.Tensor  # (N, H, W) bool: the mask each prompt should give, at scene size
    image_index: torch.Tensor  # (N,) int64: the image each prompt lies in

    def to(self, device: torch.device, non_blocking: bool = False) -> TrainingBatch:
        moved = {f.name: getattr(self, f.name).to(device, non_blocking=non_blocking) for f in fields(self)}
        return TrainingBatch(**moved)

    def pin_memory(self) -> TrainingBatch:
        """Called by the DataLoader's pinning thread: copies from pinned memory overlap the GPU's work."""
        return TrainingBatch(**{f.name: getattr(self, f.name).pin_memory() for f in fields(self)})


def prepare_batch(
    scenes: list[ShapeScene], rng: np.random.Generator, recipe: TrainingRecipe, resize: ResizeLongestSide
) -> TrainingBatch:
    """Sample each scene's prompts from `rng`, in scene order, and lay out the step's tensors."""
    scene_shape = scenes[0].labels.shape
    if any(s.labels.shape != scene_shape for s in scenes):
        raise ValueError("a training step's scenes must share one size")
    prompts = [sample_prompts(s, rng, recipe.points_per_image, recipe.background_point_fraction) for s in scenes]
    points = np.concatenate([p for p, _ in prompts])
    return TrainingBatch(
        images=torch.from_numpy(np.stack([resize.apply_image(s.image) for s in scenes])),
        labels=torch.from_numpy(np.stack([s.labels for s in scenes]).astype(np.float32)),
        coords=torch.from_numpy(resize.apply_coords(points, scene_shape)).float()[:, None, :],
        targets=torch.from_numpy(np.concatenate([t for _, t in prompts])),
        image_index=torch.arange(len(scenes)).repeat_interleave(recipe.points_per_image),
    )


def draw_batch(rng: np.random.Generator, recipe: TrainingRecipe, resize: ResizeLongestSide) -> TrainingBatch:
    """A step's scenes, then their prompts, from one generator: the order the committed weights saw them in."""
    scenes = [generate_scene(rng, recipe.scene_size, recipe.scene_size) for _ in range(recipe.images_per_step)]
    return prepare_batch(scenes, rng, recipe, resize)


def worker_generator(seed: int, worker: int) -> np.random.Generator:
    """Data worker `worker`'s generator: `SeedSequence(seed).spawn(n)[worker]`, independent of the others."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(worker,)))


class SceneStream(IterableDataset[TrainingBatch]):
    """Endless training batches, each DataLoader worker drawing from its own seeded generator.

    The DataLoader takes a batch from each worker in turn, so batch k comes from worker k mod N
    and a run is reproducible for a given number of workers N.
    """

    def __init__(self, recipe: TrainingRecipe, input_size: int) -> None:
        self.recipe = recipe
        self.input_size = input_size

    def __iter__(self) -> Iterator[TrainingBatch]:
        info = get_worker_info()
        if info is not None:
            cv2.setNumThreads(0)  # one core each: OpenCV's thread pool does not survive a fork
        rng = worker_generator(self.recipe.seed, 0 if info is None else info.id)
        resize = ResizeLongestSide(self.input_size)
        while True:
            yield draw_batch(rng, self.recipe, resize)


def training_batches(
    recipe: TrainingRecipe, input_size: int, workers: int, device: torch.device
) -> Generator[TrainingBatch, None, None]:
    """One step's batch after another, on `device`.

    `workers` 0 draws them here from the seed's one generator, as the committed weights were
    trained. Otherwise `workers` processes draw them; they are forked here and now, so call this
    before anything starts CUDA. The DataLoader's own seed comes from a generator of its own, so
    the global torch stream (weights' initialisation, the region loss's picks) is the same either way.
    """
    source: Iterator[TrainingBatch]
    if workers == 0:
        rng, resize = np.random.default_rng(recipe.seed), ResizeLongestSide(input_size)
        source = (draw_batch(rng, recipe, resize) for _ in itertools.count())
    else:
        loader = DataLoader(
            SceneStream(recipe, input_size),
            batch_size=None,
            num_workers=workers,
            multiprocessing_context="fork",
            persistent_workers=True,
            pin_memory=device.type == "cuda",
            generator=torch.Generator().manual_seed(recipe.seed),
        )
        source = iter(loader)
    non_blocking = workers > 0 and device.type == "cuda"
    return (batch.to(device, non_blocking=non_blocking) for batch in source)


def dice_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    probs = logits.sigmoid()
    numerator = 2 * (probs * targets).sum(-1)
    denominator = probs.sum(-1) + targets.sum(-1)
    return 1 - (numerator + 1) / (denominator + 1)


def mask_iou(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    predicted = (logits > 0).flatten(-2)
    truth = targets.flatten(-2) > 0.5
    intersection = (predicted & truth).sum(-1).float()
    union = (predicted | truth).sum(-1).float()
    return intersection / union.clamp(min=1)


class RegionSimilarity(torch.nn.Module):
    """Scale and bias turning the cosine of two pixels' mask features into a same-region logit.

    Used only by the auxiliary loss during training; not part of the saved model.
    """

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(10.0))
        self.bias = torch.nn.Parameter(torch.tensor(0.0))

    def forward(self, cosine: torch.Tensor) -> torch.Tensor:
        return cosine * self.scale + self.bias


def region_loss(
    sam, embeddings: torch.Tensor, labels: torch.Tensor, similarity: RegionSimilarity, pixels: int
) -> torch.Tensor:
    """Dense supervision for every image at the cost of one up-scaling pass, not one per prompt.

    The decoder's masks are dot products with per-pixel features from its `output_upscaling`;
    here those features (of the plain image embedding) must tell, for random pixel pairs,
    whether both lie in the same region. `labels` are the scenes' region ids, (B, H, W) float.
    """
    features = sam.mask_decoder.output_upscaling(embeddings)  # (B, C, 4E, 4E)
    batch, channels, height, width = features.shape
    labels = F.interpolate(labels[:, None], (height, width), mode="nearest").long().view(batch, -1)
    features = F.normalize(features.view(batch, channels, -1), dim=1)
    picks = torch.randint(0, height * width, (batch, pixels), device=features.device)
    picked = torch.gather(features, 2, picks[:, None].expand(batch, channels, pixels))
    picked_labels = torch.gather(labels, 1, picks)
    logits = similarity(torch.einsum("bcn,bcm->bnm", picked, picked))
    same = (picked_labels[:, :, None] == picked_labels[:, None, :]).float()
    return F.binary_cross_entropy_with_logits(logits, same)


def embed_images(sam, images: torch.Tensor) -> torch.Tensor:
    """Image embeddings of a batch's resized images, fed to the encoder exactly as the generator feeds it."""
    return sam.image_encoder(sam.preprocess(images.permute(0, 3, 1, 2).float()))


def decode_prompts(
    sam, embeddings: torch.Tensor, image_index: torch.Tensor, sparse: torch.Tensor, dense: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """`MaskDecoder.predict_masks` for the prompts of several images in one call.

    predict_masks repeats one image's embedding for every prompt and adds the prompt's dense
    embedding to it. A zero embedding plus (dense embedding + the prompt's own image embedding)
    is the same sum, so the prompts of every image go through the decoder as one batch.
    """
    return sam.mask_decoder.predict_masks(
        image_embeddings=embeddings.new_zeros((1, *embeddings.shape[1:])),
        image_pe=sam.prompt_encoder.get_dense_pe(),
        sparse_prompt_embeddings=sparse,
        dense_prompt_embeddings=dense + embeddings[image_index],
    )


def training_step(sam, batch: TrainingBatch, recipe: TrainingRecipe, similarity: RegionSimilarity) -> dict[str, float]:
    """Losses of one batch, already on the model's device, back-propagated; returns their values."""
    scene_shape = (batch.targets.shape[-2], batch.targets.shape[-1])
    resize = ResizeLongestSide(sam.image_encoder.img_size)
    embeddings = embed_images(sam, batch.images)
    targets = batch.targets.float()  # (N, H, W)
    point_labels = torch.ones(batch.coords.shape[:2], dtype=torch.int, device=batch.coords.device)
    sparse, dense = sam.prompt_encoder(points=(batch.coords, point_labels), boxes=None, masks=None)
    logits, iou_predictions = decode_prompts(sam, embeddings, batch.image_index, sparse, dense)
    # logits: (N, 4, 64, 64); output 0 is the single-mask output, 1-3 the multimask ones.
    # Supervise the masks the generator will actually cut: the decoder's logits up-scaled to
    # the scene by `Sam.postprocess_masks`. Hard targets at the decoder's own resolution cap
    # small shapes near IoU 0.8; through the up-scaling the logits learn sub-pixel edges.
    input_size = resize.get_preprocess_shape(*scene_shape, resize.target_length)
    full_logits = sam.postprocess_masks(logits, input_size, scene_shape)
    expanded_targets = targets[:, None].expand_as(full_logits)
    pixel_bce = F.binary_cross_entropy_with_logits(full_logits, expanded_targets, reduction="none").mean((-2, -1))
    per_output = recipe.bce_weight * pixel_bce + dice_loss(full_logits.flatten(-2), expanded_targets.flatten(-2))
    mask_loss = per_output[:, 1:].min(dim=1).values.mean() + 0.5 * per_output[:, 0].mean()
    with torch.no_grad():
        true_iou = mask_iou(full_logits, targets[:, None])
    iou_loss = F.mse_loss(iou_predictions, true_iou)
    aux_loss = region_loss(sam, embeddings, batch.labels, similarity, recipe.region_pixels_per_image)
    (mask_loss + iou_loss + recipe.region_loss_weight * aux_loss).backward()
    return {
        "mask_loss": mask_loss.item(),
        "iou_loss": iou_loss.item(),
        "region_loss": aux_loss.item(),
        "best_iou": true_iou[:, 1:].max(dim=1).values.mean().item(),
    }


def align_decoder_attention(sam, gain: float) -> None:
    """Start the decoder's prompt<->image cross-attention as a kernel around the prompt point.

    Prompt points and image tokens carry the same random Fourier position features, so with the
    query and key projections equal, `q . k` starts peaked where the point lies. From random
    projections the decoder first spends hundreds of steps predicting all-background before it
    learns to use the point's location at all.
    """
    transformer = sam.mask_decoder.transformer
    attentions = [block.cross_attn_token_to_image for block in transformer.layers]
    attentions += [block.cross_attn_image_to_token for block in transformer.layers]
    attentions.append(transformer.final_attn_token_to_image)
    with torch.no_grad():
        for attention in attentions:
            attention.q_proj.weight.mul_(gain)
            attention.k_proj.weight.copy_(attention.q_proj.weight)


def sharpen_mask_logits(sam, gain: float) -> None:
    """Scale every mask's logits by `gain`, leaving the masks (logits > 0) and IoU predictions as they are.

    `stability_score` compares the masks cut at logits +1 and -1, so it presumes edges as steep
    as SAM's own, where the logits next to an edge are far beyond +-1. BCE stops pushing at about
    +-4, and after 2x up-scaling such edges leave a +-1 band wide enough to cost a small shape
    its stability. The hypernetworks' last layer sets the logits' scale, so the gain goes there.
    """
    with torch.no_grad():
        for mlp in sam.mask_decoder.output_hypernetworks_mlps:
            mlp.layers[-1].weight.mul_(gain)
            mlp.layers[-1].bias.mul_(gain)


def learning_rate_at(step: int, recipe: TrainingRecipe) -> float:
    if step < recipe.warmup_steps:
        return recipe.learning_rate * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(1, recipe.steps - recipe.warmup_steps)
    return recipe.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


def steps_that_fit(minutes: float, elapsed_s: float, steps_done: int, seconds_per_step: float) -> int:
    """The step count of a `minutes` run that has done `steps_done` steps in `elapsed_s` seconds.

    Never fewer than the steps done: a budget spent before the timing ends ends the run there.
    """
    if seconds_per_step <= 0:
        raise ValueError(f"seconds_per_step must be positive, got {seconds_per_step}")
    remaining_s = minutes * 60 - elapsed_s
    return steps_done + max(0, math.floor(remaining_s / seconds_per_step))


@dataclass(frozen=True)
class StepRecord:
    """One finished training step, as `train`'s `on_step` callback receives it."""

    step: int  # 0-based
    steps: int | None  # the run's step count; None while `minutes` is still timing steps
    learning_rate: float
    metrics: dict[str, float]  # mask_loss, iou_loss, region_loss, best_iou


def training_device(device: str | torch.device) -> torch.device:
    """The device to train on, or a `ModelLoadError` that says why this machine cannot."""
    resolved = resolve_device(device)
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ModelLoadError(f"cannot train on {str(device)!r}: use cpu, cuda, cuda:N or mps")
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise ModelLoadError(
            f"device {str(device)!r} asked for, but this machine has {torch.cuda.device_count()} CUDA GPU(s)"
        )
    return resolved


def train(
    recipe: TrainingRecipe,
    output: Path,
    log_every: int = 50,
    checkpoint_every: int = 500,
    init_from: Path | None = None,
    compile_model: bool = False,
    max_minutes: float | None = None,
    device: str | torch.device = "cpu",
    workers: int = 0,
    minutes: float | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Path:
    """Train and save the demo SAM.

    `init_from` continues a saved demo checkpoint (its sharpening undone first): a way to
    measure how quality grows with compute, whose weights then cost both runs' time.
    `compile_model` compiles the encoder and the decoder's transformer and up-scaling in place
    (state-dict keys unchanged): after a minute or two of compiling, a 25-step probe ran 0.64 s
    per step against 0.91 s eager on 2 cores; float rounding differs from eager mode.
    `max_minutes` stops early, leaving the cosine schedule unfinished.

    `device` holds the model and every tensor of a step (AdamW runs fused on CUDA). `workers`
    > 0 draws the batches in that many forked processes (`training_batches`): other scenes than
    `workers` 0, which keeps the single generator and so the same weights as before.
    `minutes` replaces `recipe.steps`: steps UNTIMED_STEPS + 1 to UNTIMED_STEPS + TIMED_STEPS are
    timed and the step count set to what fits, so the schedule ends at 0 on time; until then the
    schedule runs as if endless (inside the default warm-up of 100 steps, that changes nothing).
    `on_step` receives every finished step; `clock` (seconds) is there for tests.
    """
    target = training_device(device)
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if minutes is not None and minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    torch.manual_seed(recipe.seed)
    if init_from is None:
        sam = build_demo_sam()
        align_decoder_attention(sam, recipe.attention_alignment_gain)
    else:
        sam = load_model(init_from, device="cpu", model_type="demo")
        sharpen_mask_logits(sam, 1 / recipe.mask_logit_gain)
    batches = training_batches(recipe, sam.image_encoder.img_size, workers, target)  # forks before CUDA starts
    sam.to(target).train()
    if compile_model:
        for module in (sam.image_encoder, sam.mask_decoder.transformer, sam.mask_decoder.output_upscaling):
            module.compile()
    similarity = RegionSimilarity().to(target)
    parameters = [*sam.parameters(), *similarity.parameters()]
    optimizer = torch.optim.AdamW(
        parameters,
        lr=recipe.learning_rate,
        weight_decay=recipe.weight_decay,
        fused=True if target.type == "cuda" else None,
    )
    started = clock()
    step_ends: list[float] | None = [] if minutes is not None else None  # until the step count is set
    running: dict[str, list[float]] = {}
    step = 0
    try:
        while step < recipe.steps or step_ends is not None:
            schedule = recipe if step_ends is None else replace(recipe, steps=sys.maxsize)
            learning_rate = learning_rate_at(step, schedule)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
            batch = next(batches)
            optimizer.zero_grad(set_to_none=True)
            metrics = training_step(sam, batch, recipe, similarity)
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            if on_step is not None:
                on_step(StepRecord(step, recipe.steps if step_ends is None else None, learning_rate, metrics))
            step += 1
            if step_ends is not None and minutes is not None:
                step_ends.append(clock())
                if step == UNTIMED_STEPS + TIMED_STEPS:
                    seconds_per_step = (step_ends[-1] - step_ends[UNTIMED_STEPS - 1]) / TIMED_STEPS
                    fitted = steps_that_fit(minutes, step_ends[-1] - started, step, seconds_per_step)
                    recipe, step_ends = replace(recipe, steps=fitted), None
                    print(
                        f"timed {TIMED_STEPS} steps at {seconds_per_step:.2f} s: "
                        f"{recipe.steps} steps fit in {minutes} minutes",
                        flush=True,
                    )
            for key, value in metrics.items():
                running.setdefault(key, []).append(value)
            if step_ends is None and (step % log_every == 0 or step == recipe.steps):
                summary = "  ".join(f"{k} {np.mean(v):.4f}" for k, v in running.items())
                elapsed = clock() - started
                print(f"step {step}/{recipe.steps}  {summary}  {elapsed / 60:.1f} min", flush=True)
                running = {}
            if step % checkpoint_every == 0 and step < recipe.steps:
                torch.save(sam.state_dict(), output.with_suffix(".partial.pth"))
            if max_minutes is not None and clock() - started > max_minutes * 60:
                of_steps = f"/{recipe.steps}" if step_ends is None else ", before the step count was timed"
                print(f"stopped after {max_minutes} minutes, at step {step}{of_steps}", flush=True)
                break
    finally:
        batches.close()  # shuts the data workers down
    sam.to("cpu").eval()
    sharpen_mask_logits(sam, recipe.mask_logit_gain)
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sam.state_dict(), output)
    output.with_suffix(".partial.pth").unlink(missing_ok=True)
    print(f"saved {output} ({output.stat().st_size / 1e6:.1f} MB) after {(clock() - started) / 60:.1f} min")
    return output


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m samcompare.demo.train", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=_positive_int, default=TrainingRecipe.steps)
    parser.add_argument("--seed", type=int, default=TrainingRecipe.seed)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (results are reproducible per count)")
    parser.add_argument("--learning-rate", type=float, default=TrainingRecipe.learning_rate)
    parser.add_argument("--init-from", type=Path, help="continue a saved demo checkpoint (for compute-scaling runs)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model: faster steps on a CPU")
    parser.add_argument("--max-minutes", type=float, help="stop after this long, schedule unfinished")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps: where every tensor of a step lives")
    parser.add_argument("--images-per-step", type=_positive_int, default=TrainingRecipe.images_per_step)
    parser.add_argument("--points-per-image", type=_positive_int, default=TrainingRecipe.points_per_image)
    parser.add_argument(
        "--workers",
        type=_non_negative_int,
        default=0,
        help="draw scenes in N DataLoader processes (reproducible per N; 0: in this process, as the committed weights)",
    )
    parser.add_argument(
        "--minutes",
        type=_positive_float,
        help="time the first steps and set the step count (overriding --steps) so the schedule ends in this time",
    )
    return parser


def recipe_from_args(args: argparse.Namespace) -> TrainingRecipe:
    return TrainingRecipe(
        steps=args.steps,
        seed=args.seed,
        learning_rate=args.learning_rate,
        images_per_step=args.images_per_step,
        points_per_image=args.points_per_image,
    )


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        train(
            recipe_from_args(args),
            args.output,
            init_from=args.init_from,
            compile_model=args.compile,
            max_minutes=args.max_minutes,
            device=args.device,
            workers=args.workers,
            minutes=args.minutes,
        )
    except ModelLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
