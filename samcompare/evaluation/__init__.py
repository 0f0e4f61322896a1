"""Which setting is right: ground truth for an image, metrics of each setting against it, and marked masks.

- `ground_truth`: `GroundTruth` and its loaders (label-map PNG, COCO JSON, ZIP of mask PNGs);
- `metrics`: one-to-one matching at IoU thresholds (precision, recall, F1, ...), COCO AP/AR,
  from a run or from a precomputed IoU matrix;
- `marks`: masks marked good or bad as partial ground truth, and metrics against them;
- `pictures`: found objects, missed objects and false masks in three colours.
"""

from samcompare.evaluation.ground_truth import (
    GroundTruth,
    GroundTruthError,
    ground_truth_from_label_map,
    ground_truth_from_masks,
    load_ground_truth,
)
from samcompare.evaluation.marks import (
    MarkedMask,
    Marks,
    MarksMetrics,
    evaluate_marks,
    mark_ious,
    marks_from_run,
    marks_metrics_from_ious,
    marks_table,
)
from samcompare.evaluation.metrics import (
    DEFAULT_IOU_THRESHOLDS,
    MAX_DETECTIONS,
    GroundTruthMatch,
    SettingMetrics,
    SizeRecall,
    ThresholdMetrics,
    coco_ap_ar,
    evaluate_from_ious,
    evaluate_run,
    mask_ious,
    match_to_ground_truth,
    metrics_columns,
    metrics_table,
    recall_curve,
    run_ious,
    run_scores,
)
from samcompare.evaluation.pictures import evaluation_legend, evaluation_picture

__all__ = [
    "DEFAULT_IOU_THRESHOLDS",
    "MAX_DETECTIONS",
    "GroundTruth",
    "GroundTruthError",
    "GroundTruthMatch",
    "MarkedMask",
    "Marks",
    "MarksMetrics",
    "SettingMetrics",
    "SizeRecall",
    "ThresholdMetrics",
    "coco_ap_ar",
    "evaluate_from_ious",
    "evaluate_marks",
    "evaluate_run",
    "evaluation_legend",
    "evaluation_picture",
    "ground_truth_from_label_map",
    "ground_truth_from_masks",
    "load_ground_truth",
    "mark_ious",
    "marks_from_run",
    "marks_metrics_from_ious",
    "marks_table",
    "mask_ious",
    "match_to_ground_truth",
    "metrics_columns",
    "metrics_table",
    "recall_curve",
    "run_ious",
    "run_scores",
]
