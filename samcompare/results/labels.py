"""Class names for masks: what turns a setting's masks into a labelled dataset.

A user picks the masks worth keeping and names what they are; a mask without a name is
`DEFAULT_CLASS`. `MaskLabels` holds one result's names by mask id (frozen, hashable, JSON for the
store). Every export numbers the class names of the masks it writes as categories: `categories`
gives them in one order (sorted by name), COCO ids from 1, YOLO indices from 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_CLASS = "object"
MAX_NAME_LENGTH = 100


class LabelError(ValueError):
    """A class name that cannot be used (empty, too long, a line break)."""


def check_class_name(name: str) -> str:
    """`name` stripped, or a `LabelError` that says why it cannot be a class name."""
    if not isinstance(name, str):
        raise LabelError(f"a class name must be text, got {name!r}")
    cleaned = name.strip()
    if not cleaned:
        raise LabelError("a class name cannot be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise LabelError(f"a class name has at most {MAX_NAME_LENGTH} characters, got {len(cleaned)}")
    if any(character in cleaned for character in "\r\n\t"):
        raise LabelError("a class name cannot hold line breaks or tabs")
    return cleaned


@dataclass(frozen=True)
class MaskLabels:
    """Class names of some masks of one result, by mask id; every other mask is `DEFAULT_CLASS`."""

    names: tuple[tuple[int, str], ...] = ()  # (mask id, class name), by mask id, never DEFAULT_CLASS

    @classmethod
    def from_mapping(cls, names: Mapping[int, str]) -> MaskLabels:
        checked = {int(mask_id): check_class_name(name) for mask_id, name in names.items()}
        return cls(tuple(sorted((i, name) for i, name in checked.items() if name != DEFAULT_CLASS)))

    def as_dict(self) -> dict[int, str]:
        return dict(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def name(self, mask_id: int) -> str:
        return self.as_dict().get(int(mask_id), DEFAULT_CLASS)

    def named(self, mask_ids: Iterable[int], name: str) -> MaskLabels:
        """These labels with `mask_ids` called `name` (`DEFAULT_CLASS` clears their names)."""
        cleaned = check_class_name(name)
        names = self.as_dict()
        for mask_id in mask_ids:
            names[int(mask_id)] = cleaned
        return MaskLabels.from_mapping(names)

    def used_names(self) -> list[str]:
        """The class names given so far, sorted (DEFAULT_CLASS not included)."""
        return sorted({name for _, name in self.names}, key=_order)

    def within(self, count: int) -> MaskLabels:
        """Only the names of mask ids below `count` (a result with `count` masks)."""
        return MaskLabels(tuple((i, name) for i, name in self.names if 0 <= i < count))

    def to_json(self) -> str:
        return json.dumps({str(mask_id): name for mask_id, name in self.names}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> MaskLabels:
        if not text:
            return cls()
        data = json.loads(text)
        return cls.from_mapping({int(mask_id): str(name) for mask_id, name in data.items()})


def _order(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def class_names(labels: MaskLabels | None, mask_ids: Sequence[int]) -> list[str]:
    """The class name of each of `mask_ids`."""
    labels = labels if labels is not None else MaskLabels()
    names = labels.as_dict()
    return [names.get(int(mask_id), DEFAULT_CLASS) for mask_id in mask_ids]


def categories(names: Iterable[str]) -> list[str]:
    """The distinct class names, in the order every export numbers them (sorted, case-insensitive first)."""
    return sorted(set(names), key=_order)


def carry_labels(
    old_counts: Sequence[np.ndarray], old_labels: MaskLabels, new_counts: Sequence[np.ndarray]
) -> MaskLabels:
    """Names of `old_labels` moved to the masks of a new result that are pixel for pixel the same mask.

    Masks are compared by their RLE counts, so a re-run or re-filter that keeps a mask keeps its name.
    """
    if not old_labels.names:
        return MaskLabels()
    by_mask: dict[bytes, str] = {}
    for mask_id, name in old_labels.names:
        if 0 <= mask_id < len(old_counts):
            by_mask[_key(old_counts[mask_id])] = name
    names = {i: by_mask[_key(c)] for i, c in enumerate(new_counts) if _key(c) in by_mask}
    return MaskLabels.from_mapping(names)


def _key(counts: np.ndarray) -> bytes:
    return np.asarray(counts, dtype=np.int64).tobytes()
