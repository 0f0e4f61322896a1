"""Which masks two settings share: a one-to-one matching of masks by IoU, and a picture of it.

Only pairs whose boxes overlap can have a non-zero IoU, so candidate pairs are found from the
boxes first and IoU is computed (by pycocotools, on compressed RLE) for those alone: hundreds of
masks per run stay cheap. The assignment maximises the summed IoU of pairs at or above the
threshold (Hungarian method, scipy); without scipy it falls back to greedy, best IoU first.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pycocotools import mask as mask_utils

from samcompare.results.masks import RunLike, RunMasks, as_run_masks

DEFAULT_IOU_THRESHOLD = 0.5
HAS_SCIPY = importlib.util.find_spec("scipy") is not None


@dataclass(frozen=True)
class MatchedPair:
    a_id: int  # mask id in run A
    b_id: int  # mask id in run B
    iou: float


@dataclass(frozen=True)
class MatchReport:
    """A one-to-one matching of run A's masks to run B's; ids are record indices of each run."""

    pairs: tuple[MatchedPair, ...]  # best IoU first
    only_in_a: tuple[int, ...]
    only_in_b: tuple[int, ...]
    count_a: int
    count_b: int
    iou_threshold: float
    method: str  # "hungarian" or "greedy"
    setting_a: str = "A"
    setting_b: str = "B"
    candidate_pairs: int = field(default=0)  # pairs with overlapping boxes, for which IoU was computed

    @property
    def matched_count(self) -> int:
        return len(self.pairs)

    @property
    def mean_iou(self) -> float:
        return float(np.mean([pair.iou for pair in self.pairs])) if self.pairs else float("nan")

    def summary(self) -> dict[str, object]:
        return {
            "setting_a": self.setting_a,
            "setting_b": self.setting_b,
            "masks_a": self.count_a,
            "masks_b": self.count_b,
            "matched": self.matched_count,
            "only_in_a": len(self.only_in_a),
            "only_in_b": len(self.only_in_b),
            "mean_matched_iou": self.mean_iou,
            "iou_threshold": self.iou_threshold,
            "method": self.method,
        }

    def summary_text(self) -> str:
        mean = f", mean IoU {self.mean_iou:.3f}" if self.pairs else ""
        return (
            f"{self.setting_a} ({self.count_a} masks) vs {self.setting_b} ({self.count_b} masks): "
            f"{self.matched_count} matched at IoU >= {self.iou_threshold:g}{mean}; "
            f"{len(self.only_in_a)} only in {self.setting_a}, {len(self.only_in_b)} only in {self.setting_b}"
        )

    def pairs_frame(self) -> pd.DataFrame:
        """Matched pairs, then unmatched masks of each side (with an empty partner), for CSV."""
        rows: list[tuple[object, object, object, str]] = [(p.a_id, p.b_id, p.iou, "matched") for p in self.pairs]
        rows += [(a_id, None, None, "only_in_a") for a_id in self.only_in_a]
        rows += [(None, b_id, None, "only_in_b") for b_id in self.only_in_b]
        frame = pd.DataFrame(rows, columns=["a_id", "b_id", "iou", "status"])
        frame["a_id"] = frame["a_id"].astype("Int64")
        frame["b_id"] = frame["b_id"].astype("Int64")
        frame["iou"] = frame["iou"].astype("Float64")
        return frame


def box_overlap_candidates(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(N_a, N_b) bool: the two [x, y, w, h] boxes share area, so the masks may overlap."""
    if len(boxes_a) == 0 or len(boxes_b) == 0:
        return np.zeros((len(boxes_a), len(boxes_b)), dtype=bool)
    ax0, ay0 = boxes_a[:, 0:1], boxes_a[:, 1:2]
    ax1, ay1 = ax0 + boxes_a[:, 2:3], ay0 + boxes_a[:, 3:4]
    bx0, by0 = boxes_b[None, :, 0], boxes_b[None, :, 1]
    bx1, by1 = bx0 + boxes_b[None, :, 2], by0 + boxes_b[None, :, 3]
    overlap_x = np.minimum(ax1, bx1) > np.maximum(ax0, bx0)
    overlap_y = np.minimum(ay1, by1) > np.maximum(ay0, by0)
    return np.asarray(overlap_x & overlap_y)


def iou_matrix(a: RunMasks, b: RunMasks) -> tuple[np.ndarray, int]:
    """(N_a, N_b) mask IoU, computed only where boxes overlap (zero elsewhere); and how many pairs that was."""
    ious = np.zeros((len(a), len(b)), dtype=np.float64)
    candidates = box_overlap_candidates(a.boxes(), b.boxes())
    rles_a, rles_b = a.coco_rles(), b.coco_rles()
    for a_id in np.flatnonzero(candidates.any(axis=1)):
        b_ids = np.flatnonzero(candidates[a_id])
        row = mask_utils.iou([rles_a[a_id]], [rles_b[i] for i in b_ids], [0] * len(b_ids))
        ious[a_id, b_ids] = np.asarray(row, dtype=np.float64).reshape(-1)
    return ious, int(candidates.sum())


def _hungarian(ious: np.ndarray, threshold: float, most_pairs: bool = False) -> list[tuple[int, int]]:
    from scipy.optimize import linear_sum_assignment

    eligible = ious >= threshold
    # Only rows and columns with a pair at or above the threshold can take part: a smaller problem.
    rows_in, cols_in = np.flatnonzero(eligible.any(axis=1)), np.flatnonzero(eligible.any(axis=0))
    sub_ious, sub_eligible = ious[np.ix_(rows_in, cols_in)], eligible[np.ix_(rows_in, cols_in)]
    # Pairs below the threshold are worth nothing, so they never displace a pair above it.
    gains = np.where(sub_eligible, sub_ious, 0.0)
    if most_pairs:
        # One more pair outweighs any summed IoU of the others (at most min(N_a, N_b)): the count comes first.
        gains = np.where(sub_eligible, gains + min(sub_ious.shape) + 1.0, 0.0)
    rows, cols = linear_sum_assignment(gains, maximize=True)
    return [(int(rows_in[r]), int(cols_in[c])) for r, c in zip(rows, cols, strict=True) if sub_eligible[r, c]]


def one_to_one(ious: np.ndarray, threshold: float, most_pairs: bool = False) -> list[tuple[int, int]]:
    """(row, column) pairs of an IoU matrix, each row and column used once, every pair's IoU >= `threshold`.

    The pairs maximise the summed IoU (Hungarian method, scipy); with `most_pairs`, they are first
    as many as possible, and of those sets the one of largest summed IoU (as detection metrics count).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {threshold}")
    matrix = np.asarray(ious, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"an IoU matrix is 2-D, got shape {matrix.shape}")
    return _hungarian(matrix, threshold, most_pairs)


def _greedy(ious: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    rows, cols = np.nonzero(ious >= threshold)
    order = np.argsort(-ious[rows, cols], kind="stable")
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for index in order:
        r, c = int(rows[index]), int(cols[index])
        if r not in used_a and c not in used_b:
            used_a.add(r)
            used_b.add(c)
            pairs.append((r, c))
    return pairs


def _name(masks: RunMasks, fallback: str) -> str:
    return masks.config.name if masks.config is not None else fallback


def match_masks(
    run_a: RunLike,
    run_b: RunLike,
    iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    method: str = "auto",
    setting_a: str | None = None,
    setting_b: str | None = None,
) -> MatchReport:
    """Pair each mask of A with at most one mask of B (and back) where their IoU >= `iou_threshold`.

    `method`: "hungarian" (maximum summed IoU; needs scipy), "greedy" (best IoU first), or
    "auto" (hungarian when scipy is installed). Setting names default to the runs' config names.
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    if method == "auto":
        method = "hungarian" if HAS_SCIPY else "greedy"
    if method not in ("hungarian", "greedy"):
        raise ValueError(f"method must be auto, hungarian or greedy, got {method!r}")
    masks_a, masks_b = as_run_masks(run_a), as_run_masks(run_b)
    if len(masks_a) and len(masks_b) and masks_a.image_shape != masks_b.image_shape:
        raise ValueError(f"runs are of different image sizes: {masks_a.image_shape} and {masks_b.image_shape}")
    ious, candidate_count = iou_matrix(masks_a, masks_b)
    assigned = _hungarian(ious, iou_threshold) if method == "hungarian" else _greedy(ious, iou_threshold)
    pairs = sorted((MatchedPair(a, b, float(ious[a, b])) for a, b in assigned), key=lambda p: (-p.iou, p.a_id))
    matched_a = {p.a_id for p in pairs}
    matched_b = {p.b_id for p in pairs}
    return MatchReport(
        pairs=tuple(pairs),
        only_in_a=tuple(i for i in range(len(masks_a)) if i not in matched_a),
        only_in_b=tuple(i for i in range(len(masks_b)) if i not in matched_b),
        count_a=len(masks_a),
        count_b=len(masks_b),
        iou_threshold=float(iou_threshold),
        method=method,
        setting_a=setting_a if setting_a is not None else _name(masks_a, "A"),
        setting_b=setting_b if setting_b is not None else _name(masks_b, "B"),
        candidate_pairs=candidate_count,
    )
