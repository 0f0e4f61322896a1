"""The three-colour picture: found objects, missed objects and false masks where they are."""

from __future__ import annotations

import numpy as np
import pytest

from samcompare.config import AmgConfig
from samcompare.evaluation import evaluate_run, evaluation_legend, evaluation_picture, ground_truth_from_masks
from samcompare.evaluation.pictures import FALSE_MASK_COLOUR, MISSED_COLOUR
from tests.results.conftest import run_result_from_masks

SHAPE = (40, 40)


def box(top: int, left: int, size: int) -> np.ndarray:
    mask = np.zeros(SHAPE, dtype=bool)
    mask[top : top + size, left : left + size] = True
    return mask


FOUND, MISSED, FALSE = box(2, 2, 10), box(25, 25, 10), box(2, 25, 10)


def test_each_kind_in_its_colour() -> None:
    truth = ground_truth_from_masks([FOUND, MISSED])
    run = run_result_from_masks([FOUND, FALSE], AmgConfig(name="s"))
    match = evaluate_run(run, truth, (0.5,)).at(0.5).match
    black = np.zeros((*SHAPE, 3), np.uint8)
    picture = evaluation_picture(black, run, truth, match, opacity=0.6, outlines=False)
    found, missed, false = picture[6, 6].astype(int), picture[30, 30].astype(int), picture[6, 30].astype(int)
    assert found[1] > found[0] or found[2] > found[0]  # greens and blues
    assert missed.tolist() == [round(c * 0.6) for c in MISSED_COLOUR]
    assert false.tolist() == [0, 0, 0]  # a false mask is not filled...
    assert picture[2, 30].tolist() == list(FALSE_MASK_COLOUR)  # ...but outlined
    assert picture[20, 20].tolist() == [0, 0, 0]  # nothing there
    labels = [label for label, _ in evaluation_legend(match)]
    assert labels == ["found objects (1)", "missed objects (1)", "false masks (1)"]


def test_a_whole_image_false_mask_hides_nothing_found() -> None:
    """A background mask counts as false; it must not tint the objects that were found."""
    truth = ground_truth_from_masks([FOUND, MISSED])
    background = np.ones(SHAPE, dtype=bool)
    run = run_result_from_masks([background, FOUND], AmgConfig(name="s"))
    match = evaluate_run(run, truth, (0.5,)).at(0.5).match
    assert match.false_masks == (0,)
    grey = np.full((*SHAPE, 3), 100, np.uint8)
    picture = evaluation_picture(grey, run, truth, match, opacity=0.6, outlines=False)
    found = picture[6, 6].astype(int)
    assert found[0] < 100 and max(found[1], found[2]) > 100  # the found object's green-blue, no orange over it
    assert picture[20, 20].tolist() == [100, 100, 100]  # the background is left as it was
    assert picture[0, 20].tolist() == list(FALSE_MASK_COLOUR)  # the false mask's outline: the image's edge


def test_the_ground_truth_must_be_of_the_image() -> None:
    truth = ground_truth_from_masks([FOUND])
    run = run_result_from_masks([FOUND], AmgConfig(name="s"))
    match = evaluate_run(run, truth).at(0.5).match
    with pytest.raises(ValueError, match="ground truth is 40 x 40 px, the image is 20 x 20 px"):
        evaluation_picture(np.zeros((20, 20, 3), np.uint8), run, truth, match)
