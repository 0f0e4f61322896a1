"""The comparison engine: many generator settings on one image, equal to the official output, sharing work.

Pure core (no Streamlit). `compare(model, image, configs, progress=None, cache=None)` returns one
`RunResult` per setting whose `records` equal `SamAutomaticMaskGenerator(model, **kwargs).generate(image)`,
with its `Funnel`: every candidate's fate (kept, or the stage that dropped it) and each stage's count.
`setting_candidates` hands out one setting's decoded candidates (`SettingCandidates`) and
`filter_setting` filters any setting with the same plan from them, without the network: what the
sweep and the tuner build on.

Stages: `plan.py` (crops, grids, batches), `gather.py` (embeddings and candidates, computed once,
cached), `filtering.py` (the official filters, traced), `funnel.py`, `compare.py` (the whole run).

How work is shared:
- each crop's image embedding is computed once per (model, image, crop box);
- each (crop box, point grid, points_per_batch) is decoded once into a candidate set holding every
  candidate before any threshold (scores, stability per offset, box, RLE), so settings that differ
  only in pred_iou_thresh, stability_score_thresh, NMS thresholds, min_mask_region_area or
  output_mode are filtered from it without the network, in this call or later ones;
- as in the official generator, only candidates above the lowest pred_iou_thresh asked for are
  scored and encoded (and, unlike it, up-scaled); the rest wait as low-resolution logits,
  completed when a looser setting comes (no network);
- a `ComparisonCache` (bounded LRU, bytes) keeps embeddings, candidate sets and waiting logits
  between calls.
"""

from samcompare.engine.cache import DEFAULT_MAX_BYTES, CacheStats, ComparisonCache
from samcompare.engine.compare import compare, filter_setting
from samcompare.engine.funnel import FATES, Funnel
from samcompare.engine.gather import Progress, ProgressCallback, SettingCandidates, setting_candidates
from samcompare.engine.result import CacheUse, RunResult, StageTimings

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FATES",
    "CacheStats",
    "CacheUse",
    "ComparisonCache",
    "Funnel",
    "Progress",
    "ProgressCallback",
    "RunResult",
    "SettingCandidates",
    "StageTimings",
    "compare",
    "filter_setting",
    "setting_candidates",
]
