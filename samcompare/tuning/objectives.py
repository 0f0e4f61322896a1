"""What the tuner maximises: one number per setting from its metrics against ground truth or marks.

Names, as the CLI takes them: `f1_50` (F1 at mask IoU 0.5; any IoU as its suffix: `f1_75`),
`recall_50` with a precision floor (recall where precision reaches the floor; below it the
shortfall, negative, so every setting that reaches the floor ranks above every one that does
not), `ap` (COCO AP@[.50:.95]), `agreement_50` (the share of marked masks a setting agrees with:
good ones found, bad ones avoided).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from samcompare.config import ConfigError
from samcompare.evaluation.marks import MarksMetrics
from samcompare.evaluation.metrics import SettingMetrics

KINDS = ("f1", "recall", "ap", "agreement")
NEEDS_MARKS = ("agreement",)


class ObjectiveError(ConfigError):
    """An objective the tuner does not know, or one that does not fit the reference (marks vs ground truth)."""

    def __init__(self, message: str) -> None:
        super().__init__("objective", message)


@dataclass(frozen=True)
class Objective:
    """One number to maximise, higher is better."""

    kind: str  # one of KINDS
    iou_threshold: float = 0.5  # for f1, recall and agreement
    min_precision: float = 0.0  # for recall

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ObjectiveError(f"unknown objective {self.kind!r}; choose from {', '.join(KINDS)}")
        if not 0.0 < self.iou_threshold <= 1.0:
            raise ObjectiveError(f"the IoU threshold must be in (0, 1], got {self.iou_threshold}")
        if not 0.0 <= self.min_precision <= 1.0:
            raise ObjectiveError(f"the precision floor must be in [0, 1], got {self.min_precision}")

    @classmethod
    def parse(cls, name: str, min_precision: float = 0.0) -> Objective:
        """`f1_50`, `recall_75`, `ap`, `agreement_50` (the suffix is the IoU threshold in hundredths)."""
        text = name.strip().lower()
        if text == "ap":
            return cls("ap")
        match = re.fullmatch(r"(f1|recall|agreement)_(\d{1,3})", text)
        if match is None:
            raise ObjectiveError(f"unknown objective {name!r}; use f1_50, recall_50, ap or agreement_50 (any IoU)")
        return cls(match.group(1), int(match.group(2)) / 100, min_precision if match.group(1) == "recall" else 0.0)

    @property
    def needs_marks(self) -> bool:
        return self.kind in NEEDS_MARKS

    @property
    def name(self) -> str:
        if self.kind == "ap":
            return "ap"
        return f"{self.kind}_{round(self.iou_threshold * 100)}"

    def describe(self) -> str:
        if self.kind == "ap":
            return "COCO AP@[.50:.95]"
        at = f"at IoU {self.iou_threshold:g}"
        if self.kind == "f1":
            return f"F1 {at}"
        if self.kind == "agreement":
            return f"agreement with the marks {at}"
        floor = f", precision >= {self.min_precision:g}" if self.min_precision > 0 else ""
        return f"recall {at}{floor}"

    def score(self, metrics: SettingMetrics | MarksMetrics) -> float:
        """The objective's value; NaN-free (an undefined figure counts as 0)."""
        if isinstance(metrics, MarksMetrics):
            if self.kind != "agreement":
                raise ObjectiveError(f"{self.describe()} needs ground truth; with marks only, use agreement")
            return _finite(metrics.agreement)
        if self.kind == "agreement":
            raise ObjectiveError("agreement is measured against marked masks; with ground truth use f1, recall or ap")
        if self.kind == "ap":
            return _finite(metrics.ap)
        at = metrics.at(self.iou_threshold)
        if self.kind == "f1":
            return _finite(at.f1)
        precision = _finite(at.precision)
        if precision < self.min_precision:
            return precision - self.min_precision  # negative: short of the floor by this much
        return _finite(at.recall)


def _finite(value: float) -> float:
    return 0.0 if value is None or math.isnan(value) else float(value)
