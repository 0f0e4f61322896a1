"""Two processes writing one store at once lose and corrupt nothing."""

from __future__ import annotations

import multiprocessing
import sqlite3

from samcompare.store import ResultStore
from tests.engine.engine_helpers import assert_records_equal
from tests.store.store_writer import synthetic_image, synthetic_result, write_runs

RUNS_PER_WRITER = 40


def test_two_processes_writing_at_once_keep_every_run_whole(tmp_path) -> None:  # noqa: ANN001
    path = str(tmp_path / "shared.db")  # created by the writers themselves, both at once
    context = multiprocessing.get_context("spawn")
    start, done = context.Barrier(2), context.Queue()
    writers = [context.Process(target=write_runs, args=(path, w, RUNS_PER_WRITER, start, done)) for w in (1, 2)]
    for process in writers:
        process.start()
    finished = dict(done.get(timeout=300) for _ in writers)
    for process in writers:
        process.join(timeout=60)
        assert process.exitcode == 0
    written = [finished[1], finished[2]]
    store = ResultStore(path)
    assert store.integrity_check() == "ok"
    assert store.count_runs() == 2 * RUNS_PER_WRITER
    all_ids = [run_id for ids in written for run_id in ids]
    assert len(set(all_ids)) == len(all_ids)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 4 * RUNS_PER_WRITER
        shared = len(range(0, RUNS_PER_WRITER, 3))
        distinct = 2 * RUNS_PER_WRITER - shared  # the shared images are stored once
        assert connection.execute("SELECT COUNT(*) FROM images").fetchone()[0] == distinct
    for writer, ids in zip((1, 2), written, strict=True):
        for index, run_id in enumerate(ids):
            seed = 1000 * writer + index
            stored = store.load_run(run_id)
            assert stored.header.image_name == f"w{writer}-{index}"
            assert (stored.pixels == synthetic_image(index if index % 3 == 0 else seed)).all()
            for expected, read in zip(
                [synthetic_result(seed, "a"), synthetic_result(seed + 500, "b")], stored.run_results, strict=True
            ):
                assert_records_equal(expected.records, read.records, f"w{writer} run {index}")
