"""samcompare.samples: every sample loads as RGB uint8; the default suits the model."""

from __future__ import annotations

import numpy as np
import pytest

from samcompare.samples import PHOTO, SAMPLES, SHAPES, default_sample, load_sample, sample_names, suits_model


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_loads_as_rgb(name: str) -> None:
    pixels = load_sample(name)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert not pixels.flags.writeable  # shared between sessions: read-only


def test_both_kinds_are_present() -> None:
    assert len(sample_names(SHAPES)) >= 1
    assert {"Astronaut", "Coins", "Coffee", "Chelsea the cat", "Rocket"} <= set(sample_names(PHOTO))


def test_default_sample_suits_the_model() -> None:
    assert suits_model(default_sample(model_is_demo=True), True)
    assert SAMPLES[default_sample(model_is_demo=False)].kind == PHOTO


def test_unknown_sample() -> None:
    with pytest.raises(KeyError, match="unknown sample"):
        load_sample("nope")


def test_shape_samples_carry_the_objects_the_demo_evaluation_counts() -> None:
    from samcompare.demo.evaluate import load_heldout
    from samcompare.samples import sample_ground_truth

    scenes = load_heldout()
    names = sample_names(SHAPES)
    assert len(names) == len(scenes)
    for name, scene in zip(names, scenes, strict=True):
        truth = sample_ground_truth(name)
        assert truth is not None and SAMPLES[name].has_ground_truth
        assert truth.image_size == load_sample(name).shape[:2]
        objects = scene.object_masks()
        assert len(truth) == len(objects)
        assert all(np.array_equal(a, b) for a, b in zip(truth.masks(), objects, strict=True))
    assert sum(len(sample_ground_truth(name)) for name in names) == 57  # the README's count
    # Clutter (shapes below 1/256 of the scene) is drawn in the label maps but is no object.
    assert sum(len(np.unique(scene.labels)) - 1 for scene in scenes) > 57
    photos_with_truth = [name for name in sample_names(PHOTO) if sample_ground_truth(name) is not None]
    assert photos_with_truth == ["Coins"]


def test_photos_come_first_and_the_coins_have_their_watershed_truth() -> None:
    from samcompare.samples import sample_ground_truth

    names = list(SAMPLES)
    assert names[: len(sample_names(PHOTO))] == sample_names(PHOTO)
    truth = sample_ground_truth("Coins")
    assert truth is not None and len(truth) == 24
    assert truth.image_size == load_sample("Coins").shape[:2] == (303, 384)
    areas = sorted(int(mask.sum()) for mask in truth.masks())
    assert areas[0] > 1000 and areas[-1] < 3500  # coins, not the 2 px speck the watershed also finds
