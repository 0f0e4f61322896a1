"""`RunResult`: one setting's masks, kept as RLE, with records built the official way on demand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from segment_anything.utils.amg import box_xyxy_to_xywh, coco_encode_rle

from samcompare.config import AmgConfig
from samcompare.engine.funnel import Funnel
from samcompare.engine.rle import Counts, area_of, decode_counts, to_rle_dict


@dataclass(frozen=True)
class StageTimings:
    """Seconds spent per stage for one setting; shared work is charged to the first setting that needed it."""

    embedding: float = 0.0
    decoding: float = 0.0
    filtering: float = 0.0
    cleanup: float = 0.0  # min_mask_region_area post-processing
    total: float = 0.0


@dataclass(frozen=True)
class CacheUse:
    """What one setting computed versus took from shared work (earlier settings or the cache), per crop."""

    embeddings_computed: int = 0
    embeddings_reused: int = 0
    decodes_computed: int = 0
    decodes_reused: int = 0

    @property
    def network_free(self) -> bool:
        """True when this setting ran no encoder or decoder pass of its own."""
        return self.embeddings_computed == 0 and self.decodes_computed == 0


@dataclass(frozen=True, eq=False)
class RunResult:
    """The masks one `AmgConfig` gives on one image, equal to `SamAutomaticMaskGenerator(...).generate(image)`.

    Masks are held as uncompressed RLE counts so that many results fit in memory; `records`
    builds the official record dicts in the setting's `output_mode` each time it is read.
    """

    config: AmgConfig
    image_shape: tuple[int, int]  # (H, W)
    counts: tuple[Counts, ...]  # RLE counts per mask, segment_anything's column-major format
    boxes: np.ndarray  # (N, 4) XYXY, dtype as the official generator has it
    predicted_ious: np.ndarray  # (N,) float32
    stability_scores: np.ndarray  # (N,) float32
    point_coords: np.ndarray  # (N, 2) float64
    crop_boxes: np.ndarray  # (N, 4) XYXY
    timings: StageTimings
    cache_use: CacheUse
    funnel: Funnel | None = None  # every candidate's fate; None for results rebuilt from storage
    origins: np.ndarray | None = None  # (N, 2) int64: each mask's crop index and candidate index in that crop

    def __len__(self) -> int:
        return len(self.counts)

    @property
    def from_cache(self) -> bool:
        return self.cache_use.network_free

    def rle(self, index: int) -> dict[str, Any]:
        """Mask `index` as segment_anything's uncompressed RLE dict (a fresh copy)."""
        return to_rle_dict(self.counts[index], self.image_shape)

    def rles(self) -> list[dict[str, Any]]:
        return [self.rle(i) for i in range(len(self))]

    def mask(self, index: int) -> np.ndarray:
        """Mask `index` as a boolean (H, W) array, decoded now."""
        return decode_counts(self.counts[index], self.image_shape)

    def masks(self) -> Iterator[np.ndarray]:
        """Boolean masks, decoded one at a time."""
        return (self.mask(i) for i in range(len(self)))

    def areas(self) -> list[int]:
        return [area_of(c) for c in self.counts]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The official generator's records (same keys, order, types and values), built on each access."""
        mode = self.config.output_mode
        records = []
        for idx in range(len(self)):
            if mode == "binary_mask":
                segmentation: Any = self.mask(idx)
            elif mode == "coco_rle":
                segmentation = coco_encode_rle(self.rle(idx))
            else:
                segmentation = self.rle(idx)
            records.append(
                {
                    "segmentation": segmentation,
                    "area": area_of(self.counts[idx]),
                    "bbox": box_xyxy_to_xywh(self.boxes[idx]).tolist(),
                    "predicted_iou": self.predicted_ious[idx].item(),
                    "point_coords": [self.point_coords[idx].tolist()],
                    "stability_score": self.stability_scores[idx].item(),
                    "crop_box": box_xyxy_to_xywh(self.crop_boxes[idx]).tolist(),
                }
            )
        return records
