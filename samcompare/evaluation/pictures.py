"""A setting's masks against the ground truth in three colours: found objects, missed objects, false masks.

It is samcompare.results' match picture with the ground truth as the second run: a found object
is drawn as the union of the object and its mask in greens and blues, a missed object (matched by
no mask) magenta, and a false mask (matched to no object) as an orange-red outline beneath them
all: a whole-image background mask, which counts as false, would otherwise tint everything and
hide what was found.
"""

from __future__ import annotations

import numpy as np

from samcompare.evaluation.ground_truth import GroundTruth
from samcompare.evaluation.metrics import GroundTruthMatch
from samcompare.results.masks import RunLike, as_run_masks
from samcompare.results.matching import MatchReport
from samcompare.results.pictures import (
    MATCHED_LEGEND_COLOUR,
    ONLY_IN_A_COLOUR,
    ONLY_IN_B_COLOUR,
    Colour,
    as_rgb,
    match_picture,
)

FOUND_COLOUR: Colour = MATCHED_LEGEND_COLOUR
FALSE_MASK_COLOUR: Colour = ONLY_IN_A_COLOUR
MISSED_COLOUR: Colour = ONLY_IN_B_COLOUR


def _report(match: GroundTruthMatch, masks: int, objects: int, setting: str) -> MatchReport:
    return MatchReport(
        pairs=match.pairs,
        only_in_a=match.false_masks,
        only_in_b=match.missed_objects,
        count_a=masks,
        count_b=objects,
        iou_threshold=match.iou_threshold,
        method="hungarian",
        setting_a=setting,
        setting_b="ground truth",
    )


def evaluation_picture(
    image: np.ndarray,
    run: RunLike,
    gt: GroundTruth,
    match: GroundTruthMatch,
    opacity: float = 0.5,
    outlines: bool = True,
) -> np.ndarray:
    """The image with found objects, false masks and missed objects drawn (a match of the run's records to `gt`)."""
    image_rgb = as_rgb(image)
    gt.check_image_size(image_rgb.shape)
    masks = as_run_masks(run, image_rgb.shape)
    if match.pairs and max(p.a_id for p in match.pairs) >= len(masks):
        raise ValueError("the match names masks the run does not have: match the whole run, not a subset")
    report = _report(match, len(masks), len(gt), masks.config.name if masks.config is not None else "setting")
    return match_picture(
        image_rgb, masks, gt.run_masks(), report, opacity=opacity, outlines=outlines, only_in_a_outlined=True
    )


def evaluation_legend(match: GroundTruthMatch) -> list[tuple[str, Colour]]:
    """(label, colour) of the picture's three kinds, with their counts."""
    return [
        (f"found objects ({len(match.pairs)})", FOUND_COLOUR),
        (f"missed objects ({len(match.missed_objects)})", MISSED_COLOUR),
        (f"false masks ({len(match.false_masks)})", FALSE_MASK_COLOUR),
    ]
