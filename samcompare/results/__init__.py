"""What to do with runs once they exist: statistics, mask matching between settings, pictures, exports.

Every function takes a run as the engine's `RunResult`, a plain list of generator records, or a
`RunMasks` (records decoded once, for callers that draw and export the same run repeatedly).
"""

from samcompare.results.masks import RunMasks, as_run_masks, segmentation_to_coco_rle, segmentation_to_mask
from samcompare.results.matching import MatchedPair, MatchReport, match_masks
from samcompare.results.pictures import (
    OverlayOptions,
    colour_mask_image,
    mask_colour,
    match_legend,
    match_picture,
    overlay,
    three_views,
)
from samcompare.results.stats import RunSummary, comparison_table, mask_count, mask_table, summarize_run

__all__ = [
    "MatchReport",
    "MatchedPair",
    "OverlayOptions",
    "RunMasks",
    "RunSummary",
    "as_run_masks",
    "colour_mask_image",
    "comparison_table",
    "mask_colour",
    "mask_count",
    "mask_table",
    "match_legend",
    "match_masks",
    "match_picture",
    "overlay",
    "segmentation_to_coco_rle",
    "segmentation_to_mask",
    "summarize_run",
    "three_views",
]
