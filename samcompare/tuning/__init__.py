"""Which setting scores best: a seeded Optuna search over the generator's parameters, against ground truth or marks.

Every trial filters cached candidates (no network) and is scored from IoU rows computed once per
mask; a proposed setting's score is what `evaluate` gives when the setting runs through the
official generator (`reproduce`). A setting tuned on one image may not carry over to others:
`tune_dataset` searches over many images (`dataset.py`: pairing by stem, the seeded split;
`dataset_search.py`: one pool per image, the mean objective, validation as `evaluate` runs it).
"""

from samcompare.tuning.dataset import DatasetError, DatasetImage, DatasetSplit, folder_images, split_images
from samcompare.tuning.dataset_search import DatasetTuneResult, tune_dataset
from samcompare.tuning.objectives import KINDS, Objective, ObjectiveError
from samcompare.tuning.scoring import PoolScorer
from samcompare.tuning.search import (
    Reproduction,
    SearchSpace,
    Trial,
    TuneResult,
    planned_work,
    plans,
    reproduce,
    tune,
)

__all__ = [
    "KINDS",
    "DatasetError",
    "DatasetImage",
    "DatasetSplit",
    "DatasetTuneResult",
    "Objective",
    "ObjectiveError",
    "PoolScorer",
    "Reproduction",
    "SearchSpace",
    "Trial",
    "TuneResult",
    "planned_work",
    "plans",
    "reproduce",
    "folder_images",
    "split_images",
    "tune",
    "tune_dataset",
]
