"""A rough run-time estimate for a comparison, before it runs, so nobody waits blind for ten minutes.

It counts the work the engine will do, the way the engine shares it: one image-encoder pass per
distinct crop box, one decode of each distinct (crop, point grid, points_per_batch,
stability_score_offset) candidate set; work done by an earlier run on the same image and model
is cached, so settings that differ only in thresholds cost (almost) nothing. Seconds per unit are
rough figures per model and device (order of magnitude, not a promise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from segment_anything.utils.amg import generate_crop_boxes

from samcompare.config import AmgConfig

# Seconds for one image-encoder pass (the image is resized to the model's input size first, so
# the cost does not depend on the image size). CPU figures are for a few cores.
ENCODER_SECONDS: dict[tuple[str, str], float] = {
    ("vit_h", "cpu"): 40.0,
    ("vit_l", "cpu"): 20.0,
    ("vit_b", "cpu"): 6.0,
    ("vit_t", "cpu"): 2.5,
    ("demo", "cpu"): 0.03,
    ("vit_h", "cuda"): 0.45,
    ("vit_l", "cuda"): 0.25,
    ("vit_b", "cuda"): 0.1,
    ("vit_t", "cuda"): 0.02,
    ("demo", "cuda"): 0.01,
}
# Seconds for one decoder batch of 64 points: a fixed part, plus upscaling and scoring 3 masks per
# point at the crop's own resolution (per megapixel of crop).
DECODER_BATCH_SECONDS: dict[str, tuple[float, float]] = {
    "cpu": (0.35, 1.2),
    "cuda": (0.01, 0.03),
}
DEMO_DECODER_BATCH_SECONDS: dict[str, tuple[float, float]] = {"cpu": (0.15, 1.2), "cuda": (0.01, 0.03)}
# MPS is roughly between the two; unknown devices are treated as CPU.
MPS_SLOWDOWN = 3.0
PER_SETTING_SECONDS = 0.05  # filtering, NMS and bookkeeping per setting
LONG_RUN_SECONDS = 20.0  # above this the UI should warn before running


@dataclass(frozen=True)
class RunEstimate:
    """How much network work a comparison needs and roughly how long it takes."""

    seconds: float
    embeddings: int  # image-encoder passes still needed
    decode_batches: int  # decoder batches still needed
    settings: int

    @property
    def network_free(self) -> bool:
        """True when every setting can be re-filtered from earlier work (a threshold-only change)."""
        return self.embeddings == 0 and self.decode_batches == 0

    @property
    def is_long(self) -> bool:
        return self.seconds >= LONG_RUN_SECONDS

    def describe(self) -> str:
        if self.network_free:
            return "no network pass: re-filtered from the cached decoder output, well under a second"
        return (
            f"about {format_seconds(self.seconds)} ({self.embeddings} encoder pass"
            f"{'es' if self.embeddings != 1 else ''}, {self.decode_batches} decoder batches)"
        )


def format_seconds(seconds: float) -> str:
    if seconds < 1.0:
        return "under a second"
    if seconds < 90.0:
        return f"{seconds:.0f} s"
    return f"{seconds / 60.0:.0f} min"


CropBox = tuple[int, int, int, int]
DecodeKey = tuple[CropBox, tuple[object, ...], int]  # crop box, point grid, points_per_batch


def _work_units(config: AmgConfig, image_shape: tuple[int, int]) -> list[tuple[DecodeKey, int, float]]:
    """(decode key, number of points, stability offset) for every crop the setting decodes."""
    crop_boxes, layer_idxs = generate_crop_boxes(image_shape, config.crop_n_layers, config.crop_overlap_ratio)
    units = []
    for box, layer in zip(crop_boxes, layer_idxs, strict=True):
        crop: CropBox = (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
        if config.point_grids is not None:
            grid = config.point_grids[layer]
            grid_key: tuple[object, ...] = ("grid", hash(grid))
            n_points = len(grid)
        else:
            assert config.points_per_side is not None
            side = config.points_per_side // config.crop_n_points_downscale_factor**layer
            grid_key = ("side", side)
            n_points = side * side
        units.append(((crop, grid_key, config.points_per_batch), n_points, float(config.stability_score_offset)))
    return units


def _device_type(device: str) -> str:
    return str(device).split(":")[0]


def estimate_run(
    model_type: str | None,
    device: str,
    image_shape: tuple[int, ...],
    configs: Sequence[AmgConfig],
    already_run: Sequence[AmgConfig] = (),
) -> RunEstimate:
    """Rough seconds to run `configs` on an image of `image_shape` ((H, W) or (H, W, C)).

    `model_type` is the catalogue's builder key (`model_type_of`); None or an unknown one is
    priced as vit_h, the slowest. `already_run`: settings run before on the same image and model
    with a shared cache; their embeddings and decoded candidates are assumed still cached.
    """
    size = (int(image_shape[0]), int(image_shape[1]))
    done_crops: set[CropBox] = set()
    done_decodes: set[tuple[DecodeKey, float]] = set()
    for config in already_run:
        for key, _, offset in _work_units(config, size):
            done_crops.add(key[0])
            done_decodes.add((key, offset))

    needed: dict[DecodeKey, int] = {}
    for config in configs:
        for key, n_points, offset in _work_units(config, size):
            if (key, offset) not in done_decodes:
                needed[key] = n_points
    crops_needed = {key[0] for key in needed} - done_crops

    device_type = _device_type(device)
    slowdown = MPS_SLOWDOWN if device_type == "mps" else 1.0
    base_device = "cuda" if device_type in ("cuda", "mps") else "cpu"
    known_type = model_type if model_type is not None and (model_type, "cpu") in ENCODER_SECONDS else "vit_h"
    encoder_seconds = ENCODER_SECONDS[(known_type, base_device)] * slowdown
    table = DEMO_DECODER_BATCH_SECONDS if known_type == "demo" else DECODER_BATCH_SECONDS
    fixed, per_megapixel = table[base_device]

    batches = 0
    decode_seconds = 0.0
    for (crop, _, points_per_batch), n_points in needed.items():
        n_batches = -(-n_points // points_per_batch)
        crop_megapixels = (crop[2] - crop[0]) * (crop[3] - crop[1]) / 1e6
        per_batch = (fixed + per_megapixel * crop_megapixels) * points_per_batch / 64.0
        batches += n_batches
        decode_seconds += n_batches * per_batch * slowdown
    seconds = len(crops_needed) * encoder_seconds + decode_seconds + PER_SETTING_SECONDS * len(configs)
    return RunEstimate(seconds, len(crops_needed), batches, len(configs))
