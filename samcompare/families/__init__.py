"""Model families: what the engine needs to know about SAM and SAM 2, in one place each.

`family_of(model)` names a loaded model's family; `FAMILIES` lists them. The engine, the loader
and the official-generator checks go through a family, never through a model library directly.
"""

from __future__ import annotations

import torch

from samcompare.families.base import DecodedBatch, Embedding, ModelFamily
from samcompare.families.sam import SAM, SamFamily
from samcompare.families.sam2 import SAM2, Sam2Family

FAMILIES: dict[str, ModelFamily] = {SAM.name: SAM, SAM2.name: SAM2}


def family_of(model: torch.nn.Module) -> ModelFamily:
    """The family of a loaded model; a `TypeError` names what it is when no family owns it."""
    for family in FAMILIES.values():
        if family.owns(model):
            return family
    raise TypeError(f"{type(model).__name__} is no model of a known family ({', '.join(FAMILIES)})")


__all__ = [
    "FAMILIES",
    "SAM",
    "SAM2",
    "DecodedBatch",
    "Embedding",
    "ModelFamily",
    "Sam2Family",
    "SamFamily",
    "family_of",
]
