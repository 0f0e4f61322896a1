"""Which setting scores best: a seeded Optuna search over the generator's parameters, against ground truth or marks.

Every trial filters cached candidates (no network) and is scored from IoU rows computed once per
mask; a proposed setting's score is what `evaluate` gives when the setting runs through the
official generator (`reproduce`). A setting tuned on one image may not carry over to others:
check it on a folder with the batch run.
"""

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
    "tune",
]
