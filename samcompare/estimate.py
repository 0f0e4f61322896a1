"""A rough run-time estimate for a comparison, before it runs, so nobody waits blind for ten minutes.

It counts the work the engine will do, the way the engine shares it: one image-encoder pass per
distinct crop box, one decode of each distinct (crop, point grid, points_per_batch,
stability_score_offset) candidate set; work done by an earlier run on the same image and model
is cached, so settings that differ only in thresholds cost (almost) nothing. Seconds per unit are
rough figures per model and device (order of magnitude, not a promise).

Two things make a first estimate wrong by several times, and both are counted: the first run in
a process also loads the model and warms it up (`cold=True` adds `STARTUP_SECONDS`), and this
machine may be slower or busier than the figures assume (`SpeedCalibration` learns the ratio of
measured to estimated seconds from the runs that went before, and `speed` applies it).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

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
    # SAM 2.1 (Hiera): the tiny one measured here on 2 CPU cores at 1024 px; the rest and CUDA scaled by size.
    ("sam2.1_hiera_t", "cpu"): 4.0,
    ("sam2.1_hiera_s", "cpu"): 5.0,
    ("sam2.1_hiera_b+", "cpu"): 10.0,
    ("sam2.1_hiera_l", "cpu"): 28.0,
    ("sam2.1_hiera_t", "cuda"): 0.05,
    ("sam2.1_hiera_s", "cuda"): 0.06,
    ("sam2.1_hiera_b+", "cuda"): 0.1,
    ("sam2.1_hiera_l", "cuda"): 0.25,
}
# SAM 2's mask decoder also reads the high-resolution features and up-scales at 256 x 256: on a CPU
# one batch of 64 points took about 8 times SAM's (measured with a Hiera-tiny at 1024 px).
DECODER_FACTOR: dict[str, float] = {
    "sam2.1_hiera_t": 8.0,
    "sam2.1_hiera_s": 8.0,
    "sam2.1_hiera_b+": 8.0,
    "sam2.1_hiera_l": 8.0,
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
# Loading the checkpoint and warming the model up (first kernels, allocations): once per process.
STARTUP_SECONDS: dict[tuple[str, str], float] = {
    ("vit_h", "cpu"): 45.0,
    ("vit_l", "cpu"): 30.0,
    ("vit_b", "cpu"): 15.0,
    ("vit_t", "cpu"): 6.0,
    ("demo", "cpu"): 8.0,
    ("sam2.1_hiera_t", "cpu"): 10.0,
    ("sam2.1_hiera_s", "cpu"): 10.0,
    ("sam2.1_hiera_b+", "cpu"): 15.0,
    ("sam2.1_hiera_l", "cpu"): 30.0,
    ("vit_h", "cuda"): 20.0,
    ("vit_l", "cuda"): 12.0,
    ("vit_b", "cuda"): 6.0,
    ("vit_t", "cuda"): 3.0,
    ("demo", "cuda"): 4.0,
    ("sam2.1_hiera_t", "cuda"): 6.0,
    ("sam2.1_hiera_s", "cuda"): 6.0,
    ("sam2.1_hiera_b+", "cuda"): 8.0,
    ("sam2.1_hiera_l", "cuda"): 15.0,
}
PER_SETTING_SECONDS = 0.05  # filtering, NMS and bookkeeping per setting
LONG_RUN_SECONDS = 20.0  # above this the UI should warn before running


@dataclass(frozen=True)
class RunEstimate:
    """How much network work a comparison needs and roughly how long it takes."""

    seconds: float  # all of it: the work, and the start-up when the run is the process's first
    embeddings: int  # image-encoder passes still needed
    decode_batches: int  # decoder batches still needed
    settings: int
    startup_seconds: float = 0.0  # loading and warming up the model, counted in `seconds`
    speed: float = 1.0  # the calibration applied: measured / estimated seconds of earlier runs

    @property
    def network_free(self) -> bool:
        """True when every setting can be re-filtered from earlier work (a threshold-only change)."""
        return self.embeddings == 0 and self.decode_batches == 0

    @property
    def is_long(self) -> bool:
        return self.seconds >= LONG_RUN_SECONDS

    @property
    def work_seconds(self) -> float:
        return self.seconds - self.startup_seconds

    def describe(self, language: str = "en") -> str:
        ja = language == "ja"
        if self.network_free:
            if ja:
                return "ネットワーク計算なし: キャッシュしたデコーダ出力から再フィルタ（1 秒未満）"
            return "no network pass: re-filtered from the cached decoder output, well under a second"
        passes = "es" if self.embeddings != 1 else ""
        if ja:
            text = (
                f"約 {format_seconds(self.seconds, language)}（エンコーダ {self.embeddings} 回、"
                f"デコーダ {self.decode_batches} バッチ"
            )
            if self.startup_seconds:
                startup = format_seconds(self.startup_seconds, language)
                text += f"。このプロセスで最初の実行なので、モデルの読み込みと準備の約 {startup} を含む"
            return text + "）"
        text = f"about {format_seconds(self.seconds)} ({self.embeddings} encoder pass{passes}, "
        text += f"{self.decode_batches} decoder batches"
        if self.startup_seconds:
            text += (
                f"; the first run in this process also loads and warms up the model, about "
                f"{format_seconds(self.startup_seconds)} of it"
            )
        return text + ")"


@dataclass
class SpeedCalibration:
    """How much slower (or faster) this machine runs than the estimate's figures, learnt from finished runs.

    Thread-safe: one instance serves every session of a process. `speed` is a running mean of the
    ratio measured / estimated (per model type and device), kept within `LIMITS`.
    """

    LIMITS = (0.2, 20.0)
    WEIGHT = 0.5  # of the newest run in the running mean
    ratios: dict[tuple[str, str], float] = field(default_factory=dict)
    warm: set[tuple[str, str]] = field(default_factory=set)  # (model name, device) that finished a run
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def speed(self, model_type: str, device: str) -> float:
        with self.lock:
            return self.ratios.get((model_type, _device_type(device)), 1.0)

    def is_warm(self, model_name: str, device: str) -> bool:
        with self.lock:
            return (model_name, str(device)) in self.warm

    def observe(self, model_name: str, model_type: str, device: str, estimate: RunEstimate, seconds: float) -> None:
        """A run estimated as `estimate` took `seconds` (start-up included when it was cold)."""
        work = estimate.work_seconds / max(estimate.speed, 1e-9)  # back to the uncalibrated figure
        with self.lock:
            self.warm.add((model_name, str(device)))
            if estimate.network_free or work < 1.0:
                return  # too little network work to learn a speed from
            measured = max(0.0, seconds - estimate.startup_seconds)
            ratio = min(max(measured / work, self.LIMITS[0]), self.LIMITS[1])
            key = (model_type, _device_type(device))
            old = self.ratios.get(key)
            self.ratios[key] = ratio if old is None else (1 - self.WEIGHT) * old + self.WEIGHT * ratio


def format_seconds(seconds: float, language: str = "en") -> str:
    ja = language == "ja"
    if seconds < 1.0:
        return "1 秒未満" if ja else "under a second"
    if seconds < 90.0:
        return f"{seconds:.0f} 秒" if ja else f"{seconds:.0f} s"
    return f"{seconds / 60.0:.0f} 分" if ja else f"{seconds / 60.0:.0f} min"


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
    cold: bool = False,
    speed: float = 1.0,
) -> RunEstimate:
    """Rough seconds to run `configs` on an image of `image_shape` ((H, W) or (H, W, C)).

    `model_type` is the catalogue's builder key (`model_type_of`); None or an unknown one is
    priced as vit_h, the slowest. `already_run`: settings run before on the same image and model
    with a shared cache; their embeddings and decoded candidates are assumed still cached. `cold`:
    the model is not loaded and warm yet (the process's first run), so its start-up is added.
    `speed` scales the work (a `SpeedCalibration`'s ratio for this machine).
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
    factor = DECODER_FACTOR.get(known_type, 1.0)
    fixed, per_megapixel = fixed * factor, per_megapixel * factor

    batches = 0
    decode_seconds = 0.0
    for (crop, _, points_per_batch), n_points in needed.items():
        n_batches = -(-n_points // points_per_batch)
        crop_megapixels = (crop[2] - crop[0]) * (crop[3] - crop[1]) / 1e6
        per_batch = (fixed + per_megapixel * crop_megapixels) * points_per_batch / 64.0
        batches += n_batches
        decode_seconds += n_batches * per_batch * slowdown
    work = (len(crops_needed) * encoder_seconds + decode_seconds) * speed + PER_SETTING_SECONDS * len(configs)
    network = bool(crops_needed or batches)
    startup = STARTUP_SECONDS[(known_type, base_device)] * slowdown if cold and network else 0.0
    return RunEstimate(work + startup, len(crops_needed), batches, len(configs), startup, speed)


def combine_estimates(parts: Sequence[RunEstimate]) -> RunEstimate:
    """One estimate for a comparison whose settings run on several models (one part per model)."""
    if not parts:
        return RunEstimate(0.0, 0, 0, 0)
    work = sum(part.work_seconds for part in parts)
    speed = sum(part.speed * part.work_seconds for part in parts) / work if work > 0 else parts[0].speed
    return RunEstimate(
        seconds=sum(part.seconds for part in parts),
        embeddings=sum(part.embeddings for part in parts),
        decode_batches=sum(part.decode_batches for part in parts),
        settings=sum(part.settings for part in parts),
        startup_seconds=sum(part.startup_seconds for part in parts),
        speed=speed,
    )


def estimate_comparison(
    model_name: str,
    device: str,
    image_shape: tuple[int, ...],
    configs: Sequence[AmgConfig],
    already_run: Sequence[AmgConfig] = (),
    calibration: SpeedCalibration | None = None,
) -> RunEstimate:
    """`estimate_run` for settings that may name their own models (`config.model`; None: `model_name`).

    Each model's settings are priced with that model's figures, against the settings already run
    on it, and cold when `calibration` has not seen the model finish a run in this process.
    """
    from samcompare.models.catalogue import model_type_of

    groups: dict[str, list[AmgConfig]] = {}
    for config in configs:
        groups.setdefault(config.model or model_name, []).append(config)
    parts = []
    for name, group in groups.items():
        model_type = model_type_of(name)
        done = [config for config in already_run if (config.model or model_name) == name]
        cold = calibration is not None and not calibration.is_warm(name, device)
        speed = calibration.speed(model_type or "vit_h", device) if calibration is not None else 1.0
        parts.append(estimate_run(model_type, device, image_shape, group, done, cold=cold, speed=speed))
    return combine_estimates(parts)
