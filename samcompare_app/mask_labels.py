"""Class names the user gives to masks of the current run, per setting: kept in the session and with the stored run.

The session holds the current run's names only (older runs' names live in the store, and History's
Open brings them back). A new run on the same image takes over the names of the masks it keeps
(`ComparisonRun.carrying_labels`), so dragging a threshold does not lose them.
"""

from __future__ import annotations

import streamlit as st

from samcompare.results.labels import DEFAULT_CLASS, MaskLabels
from samcompare_app.comparison import ComparisonRun
from samcompare_app.state import LABELS_KEY


def labels_of(run: ComparisonRun, index: int) -> MaskLabels:
    edited: dict[tuple[int, int], MaskLabels] = st.session_state.get(LABELS_KEY, {})
    return edited.get((run.run_id, index), run.initial_labels(index))


def all_labels(run: ComparisonRun) -> tuple[MaskLabels, ...]:
    return tuple(labels_of(run, index) for index in range(len(run.results)))


def class_choices(run: ComparisonRun) -> list[str]:
    """Every class name used in this run (any setting), `object` first: what the picker offers."""
    used = {name for labels in all_labels(run) for name in labels.used_names()}
    return [DEFAULT_CLASS, *sorted(used - {DEFAULT_CLASS}, key=str.casefold)]


def set_labels(run: ComparisonRun, index: int, labels: MaskLabels) -> str | None:
    """Give setting `index` of `run` these names (in the session and the store); None, or why History lacks them."""
    from samcompare_app.history import save_labels

    edited: dict[tuple[int, int], MaskLabels] = {
        key: value for key, value in st.session_state.get(LABELS_KEY, {}).items() if key[0] == run.run_id
    }
    edited[(run.run_id, index)] = labels
    st.session_state[LABELS_KEY] = edited
    return save_labels(run, index, labels)
