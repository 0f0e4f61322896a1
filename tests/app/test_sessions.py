"""Two sessions at once on one cached model: each gets the masks of its own image, as a lone run would."""

from __future__ import annotations

import threading

import numpy as np
from streamlit.testing.v1 import AppTest

from samcompare.config import AmgConfig
from samcompare.engine import ComparisonCache
from samcompare.samples import SHAPES, load_sample, sample_names
from samcompare_app.comparison import ComparisonRun, run_comparison
from tests.app.conftest import DASHBOARD, TIMEOUT_S, make_fast, run_button

CONFIGS = [
    AmgConfig(name="loose", points_per_side=8, pred_iou_thresh=0.0, stability_score_thresh=0.0),
    AmgConfig(name="strict", points_per_side=8, pred_iou_thresh=0.5, stability_score_thresh=0.5),
]


def same_masks(a: ComparisonRun, b: ComparisonRun) -> bool:
    for result_a, result_b in zip(a.results, b.results, strict=True):
        if len(result_a) != len(result_b):
            return False
        if any(not np.array_equal(x, y) for x, y in zip(result_a.counts, result_b.counts, strict=True)):
            return False
        if not np.allclose(result_a.predicted_ious, result_b.predicted_ious):
            return False
    return True


def test_two_threads_share_model_and_cache_but_not_results(demo_sam) -> None:  # noqa: ANN001
    images = [np.asarray(load_sample(name)) for name in sample_names(SHAPES)[:2]]
    alone = [run_comparison(demo_sam, "demo", "cpu", image, f"image {i}", CONFIGS) for i, image in enumerate(images)]
    shared_cache = ComparisonCache()
    together: dict[int, ComparisonRun] = {}
    start = threading.Barrier(2)

    def session(index: int) -> None:
        start.wait()
        for _ in range(2):  # the second round is served from the shared cache
            together[index] = run_comparison(
                demo_sam, "demo", "cpu", images[index], f"image {index}", CONFIGS, shared_cache
            )

    threads = [threading.Thread(target=session, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert set(together) == {0, 1}
    for index in range(2):
        assert together[index].image_name == f"image {index}"
        assert together[index].network_free  # second round: all from the cache
        assert same_masks(together[index], alone[index])
    assert together[0].image_key != together[1].image_key


def test_two_app_sessions_keep_their_own_image_and_results() -> None:
    first = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S).run()
    second = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S).run()
    other_sample = sample_names(SHAPES)[1]
    second.selectbox(key="image_sample").set_value(other_sample).run()
    for app in (first, second):
        make_fast(app, pred_iou_thresh=0.0, stability_score_thresh=0.0)
        run_button(app).click().run()
        assert not app.exception
    run_first, run_second = first.session_state["comparison_run"], second.session_state["comparison_run"]
    assert run_first.image_name == sample_names(SHAPES)[0]
    assert run_second.image_name == other_sample
    assert run_first.image_key != run_second.image_key
