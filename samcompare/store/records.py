"""What a run becomes in the store, prepared outside it: an image record and one record per setting.

Preparing (PNG encoding, statistics, packing the masks) is the slow part of storing, so it is
done where the run was made (a Ray worker, the app's thread) and the writer only inserts rows.
It is done once per image and once per result: the app stores every re-filter, whose image and
unchanged results are the ones stored a moment before (the same objects), so their PNGs, packed
masks and statistics are kept for as long as those objects live.
The masks are packed as an `.npz` of the `RunResult`'s own arrays, so a result read back has the
same dtypes, values and order and gives records equal to the original's.
"""

from __future__ import annotations

import io
import json
import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from samcompare.config import AmgConfig
from samcompare.engine.cache import image_key
from samcompare.engine.result import CacheUse, RunResult, StageTimings
from samcompare.images import downscale
from samcompare.results.exports.png import png_bytes
from samcompare.results.labels import MaskLabels
from samcompare.results.stats import summarize_run

THUMBNAIL_SIDE = 160
IMAGES_KEPT = 4  # encoded images kept for the next run on the same image

_prepared_lock = threading.Lock()
_encoded_images: dict[str, tuple[bytes, bytes]] = {}  # image key -> (thumbnail PNG, pixels PNG)
_prepared_results: weakref.WeakKeyDictionary[RunResult, tuple[dict[str, Any], bytes]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ImageRecord:
    """One distinct image: its content hash, size, a thumbnail and the pixels, both as PNG."""

    image_key: str
    name: str
    width: int
    height: int
    thumbnail_png: bytes = field(repr=False)
    pixels_png: bytes = field(repr=False)

    @classmethod
    def from_pixels(cls, pixels: np.ndarray, name: str) -> ImageRecord:
        """`pixels` is the RGB uint8 image the engine ran on; its key is the engine's own `image_key`."""
        height, width = int(pixels.shape[0]), int(pixels.shape[1])
        key = image_key(pixels)
        with _prepared_lock:
            encoded = _encoded_images.get(key)
        if encoded is None:
            encoded = (png_bytes(np.ascontiguousarray(downscale(pixels, THUMBNAIL_SIDE))), png_bytes(pixels))
            with _prepared_lock:
                _encoded_images[key] = encoded
                for old in list(_encoded_images)[:-IMAGES_KEPT]:
                    del _encoded_images[old]
        return cls(
            image_key=key, name=name, width=width, height=height, thumbnail_png=encoded[0], pixels_png=encoded[1]
        )


@dataclass(frozen=True)
class ResultRecord:
    """One setting's result, serialised: the row the store writes."""

    setting_name: str
    setting_json: str
    parameters_key: str
    mask_count: int
    coverage_pct: float
    statistics: Mapping[str, Any]
    timings: Mapping[str, float]
    cache_use: Mapping[str, int]
    masks_npz: bytes = field(repr=False)
    metrics: Mapping[str, Any] | None = None
    labels: MaskLabels | None = None  # class names given to masks; None: none

    @classmethod
    def from_result(
        cls, result: RunResult, metrics: Mapping[str, Any] | None = None, labels: MaskLabels | None = None
    ) -> ResultRecord:
        with _prepared_lock:
            prepared = _prepared_results.get(result)
        if prepared is None:
            prepared = (summarize_run(result).as_row(), pack_masks(result))
            with _prepared_lock:
                _prepared_results[result] = prepared
        statistics, masks_npz = prepared
        return cls(
            setting_name=result.config.name,
            setting_json=result.config.to_json(),
            parameters_key=parameters_key(result.config),
            mask_count=len(result),
            coverage_pct=float(statistics["coverage_pct"]),
            statistics=statistics,
            timings=asdict(result.timings),
            cache_use=asdict(result.cache_use),
            masks_npz=masks_npz,
            metrics=metrics,
            labels=labels if labels else None,
        )


@dataclass(frozen=True)
class RunRecord:
    """A whole comparison run ready to insert: the image, who made it and how, and its results in order."""

    image: ImageRecord
    image_name: str
    model: str
    device: str
    source: str  # "app" or "batch"
    seconds: float
    results: tuple[ResultRecord, ...]
    created_at: float | None = None  # None: the time of insertion

    @classmethod
    def from_results(
        cls,
        pixels: np.ndarray,
        image_name: str,
        model: str,
        device: str,
        results: Sequence[RunResult],
        source: str = "app",
        seconds: float | None = None,
        labels: Sequence[MaskLabels | None] | None = None,
    ) -> RunRecord:
        """`labels`: per result, the class names given to its masks (None: none)."""
        if source not in ("app", "batch"):
            raise ValueError(f"source must be 'app' or 'batch', got {source!r}")
        per_result = list(labels) if labels is not None else [None] * len(results)
        if len(per_result) != len(results):
            raise ValueError(f"{len(per_result)} label sets for {len(results)} results")
        total = seconds if seconds is not None else sum(result.timings.total for result in results)
        return cls(
            image=ImageRecord.from_pixels(pixels, image_name),
            image_name=image_name,
            model=model,
            device=device,
            source=source,
            seconds=float(total),
            results=tuple(
                ResultRecord.from_result(result, labels=names)
                for result, names in zip(results, per_result, strict=True)
            ),
        )


def parameters_key(config: AmgConfig) -> str:
    """The setting's parameters without its name, as canonical JSON: the generator's, and the post-filters
    beyond it when set (so a setting without them keeps the key it always had)."""
    data = config.to_dict()
    return json.dumps({k: v for k, v in data.items() if k != "name"}, sort_keys=True, separators=(",", ":"))


# --- masks ------------------------------------------------------------------------------------

_ARRAYS = ("boxes", "predicted_ious", "stability_scores", "point_coords", "crop_boxes")


def pack_masks(result: RunResult) -> bytes:
    """The result's RLE counts (concatenated, with each mask's length) and arrays as `.npz` bytes."""
    dtypes = {counts.dtype for counts in result.counts}
    if len(dtypes) > 1:
        raise ValueError(f"a result's counts must share one dtype, got {sorted(map(str, dtypes))}")
    counts_dtype = dtypes.pop() if dtypes else np.dtype(np.int32)
    arrays: dict[str, np.ndarray] = {
        "image_shape": np.asarray(result.image_shape, dtype=np.int64),
        "counts": np.concatenate(result.counts).astype(counts_dtype, copy=False)
        if result.counts
        else np.zeros(0, counts_dtype),
        "counts_lengths": np.asarray([len(counts) for counts in result.counts], dtype=np.int64),
    }
    for name in _ARRAYS:
        arrays[name] = np.asarray(getattr(result, name))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def unpack_result(
    masks_npz: bytes, setting_json: str, timings: Mapping[str, float], cache_use: Mapping[str, int]
) -> RunResult:
    """The `RunResult` packed by `pack_masks`, with its setting, timings and cache use."""
    with np.load(io.BytesIO(masks_npz), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    lengths = arrays["counts_lengths"]
    counts = tuple(np.split(arrays["counts"], np.cumsum(lengths)[:-1])) if len(lengths) else ()
    height, width = (int(v) for v in arrays["image_shape"])
    return RunResult(
        config=AmgConfig.from_json(setting_json),
        image_shape=(height, width),
        counts=tuple(np.ascontiguousarray(c) for c in counts),
        boxes=arrays["boxes"],
        predicted_ious=arrays["predicted_ious"],
        stability_scores=arrays["stability_scores"],
        point_coords=arrays["point_coords"],
        crop_boxes=arrays["crop_boxes"],
        timings=StageTimings(**timings),
        cache_use=CacheUse(**cache_use),
    )


# --- JSON -------------------------------------------------------------------------------------


def to_json(value: Mapping[str, Any] | None) -> str | None:
    """Strict JSON (NaN becomes null, as other readers of the file expect)."""
    if value is None:
        return None
    return json.dumps(_finite(value), sort_keys=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def from_json(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)
