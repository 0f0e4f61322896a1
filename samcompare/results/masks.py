"""One adapter from generator records to masks, whatever the setting's `output_mode`.

`SamAutomaticMaskGenerator.generate` stores each mask as a boolean array ("binary_mask"), as
segment_anything's uncompressed RLE ("uncompressed_rle": column-major counts as a list of ints) or
as pycocotools' compressed RLE ("coco_rle": counts as str). Statistics, matching, pictures and
exports all go through `RunMasks`, so none of them cares which mode a run used. Masks are kept as
compressed COCO RLE (small; pycocotools computes areas, boxes and IoUs on them without decoding)
and decoded to boolean arrays only where pixels are needed.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeAlias

import numpy as np
from pycocotools import mask as mask_utils

from samcompare.config import AmgConfig
from samcompare.engine.result import RunResult
from samcompare.engine.rle import area_of, decode_counts_box

Record: TypeAlias = Mapping[str, Any]
Records: TypeAlias = Sequence[Record]


class HasRecords(Protocol):
    """Anything holding generator records, such as the engine's `RunResult`."""

    @property
    def records(self) -> Records: ...


RunLike: TypeAlias = "HasRecords | Records | RunMasks"


def records_of(run: HasRecords | Records) -> Records:
    """The record list of a run result, or the argument itself when it already is one."""
    if isinstance(run, Sequence):
        return run
    return run.records


def segmentation_size(segmentation: Any) -> tuple[int, int]:
    """(height, width) of one record's segmentation in any output mode."""
    if isinstance(segmentation, Mapping):
        height, width = segmentation["size"]
        return int(height), int(width)
    array = np.asarray(segmentation)
    if array.ndim != 2:
        raise ValueError(f"a binary segmentation must be a 2-D array, got shape {array.shape}")
    return int(array.shape[0]), int(array.shape[1])


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE (counts as bytes, pycocotools' own form) of a boolean (H, W) mask."""
    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return dict(rle)


def segmentation_to_coco_rle(segmentation: Any) -> dict[str, Any]:
    """Compressed COCO RLE of a segmentation in any of the generator's three output modes."""
    if isinstance(segmentation, Mapping):
        height, width = segmentation_size(segmentation)
        counts = segmentation["counts"]
        if isinstance(counts, str):  # "coco_rle": pycocotools wants bytes
            return {"size": [height, width], "counts": counts.encode("ascii")}
        if isinstance(counts, bytes):
            return {"size": [height, width], "counts": counts}
        # "uncompressed_rle": the same column-major runs pycocotools reads from a plain list
        return dict(
            mask_utils.frPyObjects({"size": [height, width], "counts": [int(c) for c in counts]}, height, width)
        )
    return encode_mask(np.asarray(segmentation, dtype=bool))


def segmentation_to_mask(segmentation: Any) -> np.ndarray:
    """Boolean (H, W) mask of a segmentation in any output mode (binary masks are returned as is)."""
    if isinstance(segmentation, Mapping):
        return decode_mask(segmentation_to_coco_rle(segmentation))
    array = np.asarray(segmentation)
    return array if array.dtype == bool else array.astype(bool)


def decode_mask(coco_rle: Mapping[str, Any]) -> np.ndarray:
    """Boolean (H, W) mask of a compressed COCO RLE."""
    with warnings.catch_warnings():
        # pycocotools 2.0.x under NumPy 2 warns about its own array wrapper on every decode; harmless.
        warnings.filterwarnings("ignore", message="__array__ implementation", category=DeprecationWarning)
        decoded = mask_utils.decode(dict(coco_rle))
    return np.asarray(decoded, dtype=bool)


# pycocotools 2.0.x builds area()'s result through a uint8 array holding the number of masks, which
# NumPy 2 refuses from 256 masks on ("Python integer 256 out of bounds for uint8"): ask in chunks.
AREA_CHUNK = 255


def rle_areas(coco_rles: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Pixel counts (int64) of compressed COCO RLEs, any number of them."""
    rles = list(coco_rles)
    if not rles:
        return np.zeros(0, dtype=np.int64)
    chunks = [mask_utils.area(rles[start : start + AREA_CHUNK]) for start in range(0, len(rles), AREA_CHUNK)]
    return np.concatenate([np.asarray(chunk, dtype=np.int64).reshape(-1) for chunk in chunks])


def coco_rle_for_json(coco_rle: Mapping[str, Any]) -> dict[str, Any]:
    """The RLE with str counts, as COCO files (and the generator's "coco_rle" mode) store it."""
    counts = coco_rle["counts"]
    return {
        "size": [int(v) for v in coco_rle["size"]],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


class RunMasks:
    """The masks of one run, read from its records (or the engine's RLE counts) once, in record order.

    Mask id `i` is the index of the record in the run's record list; every table, picture and
    export uses that id, so a mask keeps its id (and its colour) in any subset.
    """

    def __init__(self, run: HasRecords | Records, image_shape: tuple[int, ...] | None = None) -> None:
        self.result: RunResult | None = run if isinstance(run, RunResult) else None
        self.config: AmgConfig | None = getattr(run, "config", None)
        if self.result is not None:
            # The engine keeps RLE counts: read records in uncompressed-RLE mode (cheap, whatever the
            # setting's output_mode) and decode masks from the counts.
            light = dataclasses.replace(self.result, config=self.result.config.replace(output_mode="uncompressed_rle"))
            self.records: Records = light.records
        else:
            self.records = records_of(run)
        shapes = {segmentation_size(record["segmentation"]) for record in self.records}
        if self.result is not None:
            shapes.add((int(self.result.image_shape[0]), int(self.result.image_shape[1])))
        if len(shapes) > 1:
            raise ValueError(f"the records' masks have different sizes: {sorted(shapes)}")
        if image_shape is not None:
            expected = (int(image_shape[0]), int(image_shape[1]))
            if shapes and shapes != {expected}:
                raise ValueError(f"masks are {shapes.pop()} but the image is {expected} (height, width)")
            self.image_shape = expected
        elif shapes:
            self.image_shape = shapes.pop()
        else:
            raise ValueError("a run without masks needs image_shape to know the image size")
        self._rles: list[dict[str, Any]] | None = None
        self._areas: np.ndarray | None = None
        self._boxes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.records)

    @property
    def ids(self) -> list[int]:
        return list(range(len(self.records)))

    def coco_rles(self) -> list[dict[str, Any]]:
        if self._rles is None:
            self._rles = [segmentation_to_coco_rle(record["segmentation"]) for record in self.records]
        return self._rles

    def coco_rle(self, mask_id: int) -> dict[str, Any]:
        return self.coco_rles()[mask_id]

    def mask(self, mask_id: int) -> np.ndarray:
        """Boolean (H, W) mask; a binary-mode record's own array, not a copy."""
        if self.result is not None:
            return self.result.mask(mask_id)
        segmentation = self.records[mask_id]["segmentation"]
        if isinstance(segmentation, Mapping):
            return decode_mask(self.coco_rle(mask_id))
        return segmentation_to_mask(segmentation)

    def mask_in_box(self, mask_id: int, box: Sequence[int]) -> np.ndarray:
        """Boolean (h, w) part of the mask inside `box` [x, y, w, h]; an engine result decodes only that part."""
        if self.result is not None:
            return decode_counts_box(self.result.counts[mask_id], self.image_shape, box)
        x, y, w, h = (int(v) for v in box)
        return self.mask(mask_id)[y : y + h, x : x + w]

    def iter_masks(self, mask_ids: Sequence[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        for mask_id in self.ids if mask_ids is None else mask_ids:
            yield mask_id, self.mask(mask_id)

    def areas(self) -> np.ndarray:
        """Pixel counts from the masks themselves (int64, one per mask; read-only, worked out once)."""
        if self._areas is None:
            if self.result is not None:  # from the engine's counts: no RLE conversion
                areas = np.asarray([area_of(counts) for counts in self.result.counts], dtype=np.int64)
            else:
                areas = rle_areas(self.coco_rles())
            areas.setflags(write=False)
            self._areas = areas
        return self._areas

    def boxes(self) -> np.ndarray:
        """Exact [x, y, w, h] boxes of the masks (float, (N, 4); read-only, worked out once).

        SAM's record bbox is one pixel narrower.
        """
        if self._boxes is None:
            if not self.records:
                boxes = np.zeros((0, 4), dtype=np.float64)
            elif self.result is not None:  # SAM's inclusive XYXY boxes of the final masks: no RLE conversion
                xyxy = np.asarray(self.result.boxes, dtype=np.float64).reshape(-1, 4)
                boxes = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2] + 1], axis=1)
                boxes[self.areas() == 0] = 0
            else:
                boxes = np.asarray(mask_utils.toBbox(self.coco_rles()), dtype=np.float64).reshape(-1, 4)
            boxes.setflags(write=False)
            self._boxes = boxes
        return self._boxes

    def check_ids(self, mask_ids: Sequence[int] | None) -> list[int]:
        """The ids asked for (all when None), each checked to name a mask of this run."""
        if mask_ids is None:
            return self.ids
        checked = [int(mask_id) for mask_id in mask_ids]
        bad = [mask_id for mask_id in checked if not 0 <= mask_id < len(self.records)]
        if bad:
            raise ValueError(f"mask ids {bad} do not exist; this run has ids 0..{len(self.records) - 1}")
        return checked

    def pixel_counts(self, mask_ids: Sequence[int] | None = None) -> np.ndarray:
        """How many masks cover each pixel ((H, W) int32)."""
        counts = np.zeros(self.image_shape, dtype=np.int32)
        ids = self.check_ids(mask_ids)
        boxes = self.boxes()
        for mask_id, mask in self.iter_masks(ids):
            x, y, w, h = (int(v) for v in boxes[mask_id])  # exact: the mask lies inside its box
            counts[y : y + h, x : x + w] += mask[y : y + h, x : x + w]
        return counts


def as_run_masks(run: RunLike, image_shape: tuple[int, ...] | None = None) -> RunMasks:
    """`run` itself when it already is a `RunMasks` (so callers can decode once), else a new one."""
    if isinstance(run, RunMasks):
        if image_shape is not None and tuple(image_shape[:2]) != run.image_shape:
            raise ValueError(f"masks are {run.image_shape} but the image is {tuple(image_shape[:2])} (height, width)")
        return run
    return RunMasks(run, image_shape)
