"""Pictures of candidates: the masks of chosen candidates over the image, each with its id, and what dropped it."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from samcompare.engine import Funnel, SettingCandidates
from samcompare.engine.rle import to_rle_dict
from samcompare.results.masks import RunMasks
from samcompare.results.pictures import as_rgb, mask_colour

SUPPRESSOR_COLOUR = (255, 255, 255)
LABEL_MIN_SIDE = 512  # pictures are enlarged to about this many pixels before labels are written


def candidates_picture(
    image: np.ndarray,
    candidates: SettingCandidates,
    funnel: Funnel,
    ids: Sequence[int],
    opacity: float = 0.55,
    suppressors: bool = True,
) -> tuple[np.ndarray, list[int]]:
    """The masks of candidates `ids` in their colours (`mask_colour(position)`), labelled `#id`.

    With `suppressors`, the box that suppressed each NMS-dropped candidate is outlined in white.
    Candidates without a mask (never post-processed) are skipped; their ids are returned.
    """
    image_rgb = as_rgb(image)
    records, shown, missing = [], [], []
    for candidate in ids:
        counts = candidates.counts_of(int(candidate))
        if counts is None:
            missing.append(int(candidate))
            continue
        records.append({"segmentation": to_rle_dict(counts, candidates.image_size)})
        shown.append(int(candidate))
    canvas = image_rgb.astype(np.float32)
    if records:
        masks = RunMasks(records, image_rgb.shape)
        order = sorted(range(len(shown)), key=lambda i: -int(funnel.area[shown[i]]))  # small ones on top
        for position in order:
            mask = masks.mask(position)
            canvas[mask] = canvas[mask] * (1 - opacity) + np.asarray(mask_colour(position), np.float32) * opacity
        for position in range(len(shown)):
            contours, _ = cv2.findContours(masks.mask(position).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(canvas, contours, -1, tuple(float(c) for c in mask_colour(position)), 1)
    painted = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    # Labels need pixels: small images are enlarged (nearest neighbour) before they are written.
    zoom = max(1, -(-LABEL_MIN_SIDE // max(painted.shape[:2])))
    picture = cv2.resize(painted, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST) if zoom > 1 else painted
    scale = max(0.4, min(picture.shape[:2]) / 900)
    placed: list[tuple[int, int, int, int]] = []
    for position, candidate in enumerate(shown):
        x0, y0 = (int(v) * zoom for v in funnel.box[candidate][:2])
        other = int(funnel.suppressed_by[candidate])
        if suppressors and other >= 0 and funnel.area[other] >= 0:
            sx0, sy0, sx1, sy1 = (int(v) * zoom for v in funnel.box[other])
            cv2.rectangle(picture, (sx0, sy0), (sx1 + zoom - 1, sy1 + zoom - 1), SUPPRESSOR_COLOUR, 1)
        _label(picture, f"#{candidate}", (x0, y0 + 14), mask_colour(position), scale, placed)
    return picture, missing


def _label(
    picture: np.ndarray,
    text: str,
    corner: tuple[int, int],
    colour: tuple[int, int, int],
    scale: float,
    placed: list[tuple[int, int, int, int]],
) -> None:
    """Write `text` on a black tag at `corner`, moved down past the tags already `placed` there."""
    thickness = max(1, round(scale * 1.5))
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x, y = corner
    x = min(max(0, x), max(0, picture.shape[1] - width - 2))
    y = max(height + 2, y)
    while any(
        x < px1 and px0 < x + width + 2 and y - height - 2 < py1 and py0 < y + 2 for px0, py0, px1, py1 in placed
    ):
        y += height + 5
    y = min(y, picture.shape[0] - 2)
    placed.append((x, y - height - 2, x + width + 2, y + 2))
    cv2.rectangle(picture, (x, y - height - 2), (x + width + 2, y + 2), (0, 0, 0), -1)
    cv2.putText(picture, text, (x + 1, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)
