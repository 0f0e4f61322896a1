"""The Parameters guide's pictures: each parameter's two values give visibly different results; captions read well."""

from __future__ import annotations

import numpy as np

from samcompare_app.parameter_examples import MODEL_EXAMPLES, crop_diagram, example_configs, example_results, plural


def test_both_sides_of_every_example_differ(demo_sam) -> None:  # noqa: ANN001
    results = example_results(demo_sam)
    assert len(results) == 2 * len(MODEL_EXAMPLES)
    for index, parameter in enumerate(MODEL_EXAMPLES):
        low, high = results[2 * index], results[2 * index + 1]
        assert getattr(low.config, parameter) != getattr(high.config, parameter)
        # A different number of masks: the pictures cannot look alike.
        assert len(low) != len(high), f"{parameter}: {len(low)} masks on both sides"
        covered = [np.any([r.mask(i) for i in range(len(r))], axis=0) if len(r) else None for r in (low, high)]
        assert covered[0] is None or covered[1] is None or not np.array_equal(*covered), parameter


def test_each_example_changes_only_its_parameter_from_its_base() -> None:
    configs = example_configs()
    for index, (parameter, (_, base)) in enumerate(MODEL_EXAMPLES.items()):
        low, high = configs[2 * index], configs[2 * index + 1]
        differing = {name for name in low.to_dict() if name != "name" and low.to_dict()[name] != high.to_dict()[name]}
        assert differing == {parameter}
        assert all(getattr(low, key) == value for key, value in base.items())


def test_captions_count_in_good_english_and_in_japanese() -> None:
    assert plural(1, "crop", "crops") == "1 crop" and plural(5, "crop", "crops") == "5 crops"
    one = crop_diagram(0)
    assert one.caption("en") == "crop_n_layers=0: 1 crop"
    assert one.caption("ja") == "crop_n_layers=0: クロップ 1 個"
    assert crop_diagram(1).caption("en") == "crop_n_layers=1: 5 crops"
