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
    assert {"Astronaut", "Coffee", "Chelsea the cat", "Rocket"} <= set(sample_names(PHOTO))


def test_default_sample_suits_the_model() -> None:
    assert suits_model(default_sample(model_is_demo=True), True)
    assert SAMPLES[default_sample(model_is_demo=False)].kind == PHOTO


def test_unknown_sample() -> None:
    with pytest.raises(KeyError, match="unknown sample"):
        load_sample("nope")
