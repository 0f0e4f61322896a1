"""A batch on a local Ray instance (two CPU workers) gives the rows and masks of the same batch run locally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import ray

from samcompare.batch import run_batch
from samcompare.batch.outputs import TIMING_COLUMNS
from samcompare.store import ResultStore
from tests.batch.conftest import SceneFolder, request_for
from tests.engine.engine_helpers import assert_records_equal


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One Ray instance for the module: each start costs seconds."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def stored_records(out: Path) -> dict[str, list]:
    store = ResultStore(out / "samcompare.db")
    table = store.batch_table(store.batches()[0][0])
    runs = table.dropna(subset=["run_id"]).drop_duplicates("file_name")
    return {
        row.file_name: [stored.result.records for stored in store.load_results(int(row.run_id))]
        for row in runs.itertuples()
    }


def test_ray_batch_equals_the_local_batch(local_ray, scene_folder: SceneFolder, tmp_path) -> None:  # noqa: ANN001
    local_out, ray_out = tmp_path / "local", tmp_path / "ray"
    run_batch(request_for(scene_folder, local_out), echo=lambda _: None, progress=False)
    messages: list[str] = []
    summary = run_batch(request_for(scene_folder, ray_out, ray_address="local"), echo=messages.append, progress=False)
    assert any(message.startswith("Ray: 2 workers") for message in messages)
    assert (summary.done, summary.failed) == (6, 1)
    assert ray.is_initialized()  # the batch used the running instance and left it running

    for name in ("images.csv", "summary.csv"):
        local, remote = pd.read_csv(local_out / name), pd.read_csv(ray_out / name)
        timing = [c for c in local.columns if c in TIMING_COLUMNS]
        pd.testing.assert_frame_equal(local.drop(columns=timing), remote.drop(columns=timing))
    for path in sorted((local_out / "masks").rglob("*.json")):
        assert path.read_bytes() == (ray_out / path.relative_to(local_out)).read_bytes(), path.name
    assert (local_out / "report.html").read_bytes() == (ray_out / "report.html").read_bytes()
    local_records, ray_records = stored_records(local_out), stored_records(ray_out)
    assert sorted(local_records) == sorted(ray_records)
    for name, per_setting in local_records.items():
        for expected, actual in zip(per_setting, ray_records[name], strict=True):
            assert_records_equal(expected, actual, name)
