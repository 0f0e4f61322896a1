"""`ResultStore`: comparison runs kept in one SQLite file, shared safely by app sessions and processes.

Each operation opens its own connection (cheap), so one store object serves many threads. WAL
mode lets readers go on while one writer writes; a busy timeout makes a second writer wait for
the first instead of failing; every write is one `BEGIN IMMEDIATE` transaction, so a run is
stored whole or not at all. Any failure to open or write (a read-only folder, a full disk, a
file that is not a database) is raised as `StoreError`, the one error type callers catch.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samcompare.config import AmgConfig
from samcompare.engine.result import RunResult
from samcompare.results.exports.png import read_png
from samcompare.results.labels import MaskLabels
from samcompare.store.records import (
    ResultRecord,
    RunRecord,
    from_json,
    to_json,
    unpack_result,
)
from samcompare.store.schema import NewerSchemaError, migrate

HOME_VARIABLE = "SAMCOMPARE_HOME"
DATABASE_NAME = "samcompare.db"
BUSY_TIMEOUT_S = 60.0


class StoreError(RuntimeError):
    """The store cannot be opened, read or written; the message says which file and why."""


def default_store_path() -> Path:
    """`$SAMCOMPARE_HOME/samcompare.db`, else samcompare.db in the user's data folder (platformdirs)."""
    home = os.environ.get(HOME_VARIABLE)
    if home:
        return Path(home).expanduser() / DATABASE_NAME
    import platformdirs

    return Path(platformdirs.user_data_dir("samcompare", appauthor=False)) / DATABASE_NAME


@dataclass(frozen=True)
class SettingSummary:
    """One setting of a stored run, as History lists it."""

    result_id: int
    name: str
    mask_count: int
    coverage_pct: float


@dataclass(frozen=True)
class RunHeader:
    """A stored run without its masks and pixels: what a list of past comparisons shows."""

    run_id: int
    created_at: float
    image_key: str
    image_name: str
    width: int
    height: int
    model: str
    device: str
    source: str
    seconds: float
    settings: tuple[SettingSummary, ...]


@dataclass(frozen=True)
class StoredResult:
    """One setting's result read back: the engine's `RunResult` and what was stored beside it."""

    result_id: int
    result: RunResult
    statistics: Mapping[str, Any]
    metrics: Mapping[str, Any] | None
    labels: MaskLabels = MaskLabels()  # class names given to its masks


@dataclass(frozen=True)
class StoredRun:
    """A whole run read back: enough to show and export it again without running the model."""

    header: RunHeader
    pixels: np.ndarray = field(repr=False)
    results: tuple[StoredResult, ...]

    @property
    def run_results(self) -> tuple[RunResult, ...]:
        return tuple(stored.result for stored in self.results)

    @property
    def labels(self) -> tuple[MaskLabels, ...]:
        return tuple(stored.labels for stored in self.results)


@dataclass(frozen=True)
class BatchItem:
    """One file of a batch: done (its run) or failed (its message)."""

    file_name: str
    file_digest: str
    run_id: int | None
    error: str | None

    @property
    def done(self) -> bool:
        return self.run_id is not None


def batch_signature(model: str, configs: Sequence[AmgConfig]) -> str:
    """What makes two batches the same batch: the model and the settings, in order."""
    text = json.dumps({"model": model, "settings": [config.to_dict() for config in configs]}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResultStore:
    """Comparison runs in one SQLite database (created and brought to the current schema on opening)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            reason = error.strerror or error
            raise StoreError(f"cannot create the store's folder {self.path.parent}: {reason}") from None
        with self._connection() as connection:
            self._set_wal(connection)
            try:
                migrate(connection)
            except NewerSchemaError as error:
                raise StoreError(f"{self.path}: {error}") from None

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    # --- connections ---------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection in autocommit mode (transactions are explicit); sqlite3 errors become StoreError."""
        connection: sqlite3.Connection | None = None
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            connection.execute("PRAGMA foreign_keys = ON")
            yield connection
        except sqlite3.Error as error:
            raise StoreError(f"the store {self.path} cannot be used: {error}") from None
        except OSError as error:
            raise StoreError(f"the store {self.path} cannot be used: {error.strerror or error}") from None
        finally:
            if connection is not None:
                connection.close()

    @staticmethod
    def _set_wal(connection: sqlite3.Connection) -> None:
        # Switching to WAL needs a moment without other writers; a new file's other openers may hold it.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"could not switch to WAL mode (journal mode is {mode})")
            return

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is stored, or none of it."""
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    # --- writing -------------------------------------------------------------------------------

    def add_run(
        self,
        pixels: np.ndarray,
        image_name: str,
        model: str,
        device: str,
        results: Sequence[RunResult],
        source: str = "app",
        seconds: float | None = None,
        labels: Sequence[MaskLabels | None] | None = None,
    ) -> int:
        """Store one comparison (the engine's results for `pixels`, with any class names); returns the run's id."""
        record = RunRecord.from_results(pixels, image_name, model, device, results, source, seconds, labels)
        return self.add_record(record)

    def add_record(self, record: RunRecord) -> int:
        """Store a prepared run in one transaction; returns its id."""
        with self._write() as connection:
            return _insert_run(connection, record)

    def set_metrics(self, result_id: int, metrics: Mapping[str, Any] | None) -> None:
        """Attach ground-truth metrics (a dict of columns) to one stored result; None clears them."""
        with self._write() as connection:
            changed = connection.execute(
                "UPDATE results SET metrics_json = ? WHERE id = ?", (to_json(metrics), int(result_id))
            ).rowcount
        if changed != 1:
            raise KeyError(f"no stored result with id {result_id}")

    def set_labels(self, result_id: int, labels: MaskLabels) -> None:
        """Keep the class names given to one stored result's masks (empty labels clear them)."""
        text = labels.to_json() if labels else None
        with self._write() as connection:
            changed = connection.execute(
                "UPDATE results SET labels_json = ? WHERE id = ?", (text, int(result_id))
            ).rowcount
        if changed != 1:
            raise KeyError(f"no stored result with id {result_id}")

    def delete_run(self, run_id: int) -> bool:
        """Delete a run and its results (and its image, when no other run uses it); False if it was gone."""
        with self._write() as connection:
            return _delete_run(connection, int(run_id))

    # --- reading -------------------------------------------------------------------------------

    def count_runs(self) -> int:
        with self._connection() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def runs(self, limit: int | None = None, source: str | None = None) -> list[RunHeader]:
        """Stored runs, newest first (ties: the later stored first)."""
        query = _HEADER_QUERY
        parameters: list[Any] = []
        if source is not None:
            query += " WHERE runs.source = ?"
            parameters.append(source)
        query += " ORDER BY runs.created_at DESC, runs.id DESC"
        if limit is not None:
            query += " LIMIT ?"
            parameters.append(int(limit))
        with self._connection() as connection:
            rows = connection.execute(query, parameters).fetchall()
            return _headers(connection, rows)

    def run_header(self, run_id: int) -> RunHeader:
        with self._connection() as connection:
            rows = connection.execute(_HEADER_QUERY + " WHERE runs.id = ?", (int(run_id),)).fetchall()
            if not rows:
                raise KeyError(f"no stored run with id {run_id}")
            return _headers(connection, rows)[0]

    def load_run(self, run_id: int) -> StoredRun:
        """The run with its pixels and every setting's `RunResult`, as it was stored."""
        header = self.run_header(run_id)
        with self._connection() as connection:
            pixels_png = connection.execute(
                "SELECT images.pixels_png FROM runs JOIN images ON images.id = runs.image_id WHERE runs.id = ?",
                (int(run_id),),
            ).fetchone()[0]
        return StoredRun(header, read_png(pixels_png), self.load_results(run_id))

    def load_results(self, run_id: int) -> tuple[StoredResult, ...]:
        """Every setting's result of a run, in the run's order, without the image."""
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT id, setting_json, timings_json, cache_use_json, masks_npz, statistics_json, metrics_json, "
                "labels_json FROM results WHERE run_id = ? ORDER BY position",
                (int(run_id),),
            ).fetchall()
        return tuple(
            StoredResult(
                result_id=int(result_id),
                result=unpack_result(masks, setting, json.loads(timings), json.loads(cache_use)),
                statistics=json.loads(statistics),
                metrics=from_json(metrics),
                labels=MaskLabels.from_json(labels),
            )
            for result_id, setting, timings, cache_use, masks, statistics, metrics, labels in rows
        )

    def pixels(self, image_key: str) -> np.ndarray:
        """The stored image (RGB uint8, lossless), by its content hash."""
        with self._connection() as connection:
            row = connection.execute("SELECT pixels_png FROM images WHERE image_key = ?", (image_key,)).fetchone()
        if row is None:
            raise KeyError(f"no stored image {image_key}")
        return read_png(row[0])

    def thumbnail(self, image_key: str) -> np.ndarray:
        """The stored thumbnail (RGB uint8) of an image, by its content hash."""
        with self._connection() as connection:
            row = connection.execute("SELECT thumbnail_png FROM images WHERE image_key = ?", (image_key,)).fetchone()
        if row is None:
            raise KeyError(f"no stored image {image_key}")
        return read_png(row[0])

    def thumbnail_png(self, image_key: str) -> bytes:
        with self._connection() as connection:
            row = connection.execute("SELECT thumbnail_png FROM images WHERE image_key = ?", (image_key,)).fetchone()
        if row is None:
            raise KeyError(f"no stored image {image_key}")
        return bytes(row[0])

    def results_table(self, model: str | None = None, source: str | None = None) -> pd.DataFrame:
        """One row per stored result: run, image, model, setting and its numbers (no masks); oldest first."""
        query = (
            "SELECT runs.id AS run_id, results.id AS result_id, runs.created_at, runs.source, runs.model, "
            "runs.device, images.image_key, runs.image_name, results.position, results.setting_name, "
            "results.parameters_key, results.mask_count, results.coverage_pct, results.statistics_json, "
            "results.timings_json, results.metrics_json "
            "FROM results JOIN runs ON runs.id = results.run_id JOIN images ON images.id = runs.image_id"
        )
        conditions, parameters = [], []
        if model is not None:
            conditions.append("runs.model = ?")
            parameters.append(model)
        if source is not None:
            conditions.append("runs.source = ?")
            parameters.append(source)
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        query += " ORDER BY runs.created_at, runs.id, results.position"
        with self._connection() as connection:
            frame = pd.read_sql_query(query, connection, params=parameters)
        frame["statistics"] = frame.pop("statistics_json").map(json.loads)
        frame["timings"] = frame.pop("timings_json").map(json.loads)
        frame["metrics"] = [from_json(text) if isinstance(text, str) else None for text in frame.pop("metrics_json")]
        return frame

    def integrity_check(self) -> str:
        """SQLite's own check of the file: "ok" when sound."""
        with self._connection() as connection:
            return "\n".join(str(row[0]) for row in connection.execute("PRAGMA integrity_check").fetchall())

    def schema_version(self) -> int:
        with self._connection() as connection:
            return int(connection.execute("PRAGMA user_version").fetchone()[0])

    # --- batches -------------------------------------------------------------------------------

    def batch_id(self, model: str, configs: Sequence[AmgConfig]) -> int:
        """The batch of this model and these settings, created on first use."""
        signature = batch_signature(model, configs)
        settings_json = json.dumps([config.to_dict() for config in configs])
        with self._write() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO batches (signature, model, settings_json, created_at) VALUES (?, ?, ?, ?)",
                (signature, model, settings_json, time.time()),
            )
            return int(connection.execute("SELECT id FROM batches WHERE signature = ?", (signature,)).fetchone()[0])

    def batches(self) -> list[tuple[int, str, list[AmgConfig]]]:
        """Every batch in the database: (id, model, settings)."""
        with self._connection() as connection:
            rows = connection.execute("SELECT id, model, settings_json FROM batches ORDER BY id").fetchall()
        return [(int(i), model, [AmgConfig.from_dict(d) for d in json.loads(text)]) for i, model, text in rows]

    def batch_items(self, batch_id: int) -> dict[str, BatchItem]:
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT file_name, file_digest, run_id, error FROM batch_items WHERE batch_id = ? ORDER BY file_name",
                (int(batch_id),),
            ).fetchall()
        return {name: BatchItem(name, digest, run_id, error) for name, digest, run_id, error in rows}

    def record_batch_item(
        self, batch_id: int, file_name: str, file_digest: str, run: RunRecord | None, error: str | None = None
    ) -> int | None:
        """One file of a batch, done (its run, stored in the same transaction) or failed (`error`)."""
        if (run is None) == (error is None):
            raise ValueError("give exactly one of run and error")
        with self._write() as connection:
            old = connection.execute(
                "SELECT run_id FROM batch_items WHERE batch_id = ? AND file_name = ?", (int(batch_id), file_name)
            ).fetchone()
            run_id = _insert_run(connection, run) if run is not None else None
            connection.execute(
                "INSERT OR REPLACE INTO batch_items (batch_id, file_name, file_digest, run_id, error) "
                "VALUES (?, ?, ?, ?, ?)",
                (int(batch_id), file_name, file_digest, run_id, error),
            )
            if old is not None and old[0] is not None and old[0] != run_id:
                _delete_run(connection, int(old[0]))  # the file changed: its old run goes
        return run_id

    def batch_table(self, batch_id: int) -> pd.DataFrame:
        """One row per file of the batch and setting (one row with no setting for a failed file), by name.

        Columns: file_name, error, run_id, image_key, position, setting_name, result_id, mask_count,
        coverage_pct, statistics, timings, metrics (dicts, or None).
        """
        query = (
            "SELECT batch_items.file_name, batch_items.error, batch_items.run_id, images.image_key, "
            "results.position, results.setting_name, results.id AS result_id, results.mask_count, "
            "results.coverage_pct, results.statistics_json, results.timings_json, results.metrics_json "
            "FROM batch_items LEFT JOIN runs ON runs.id = batch_items.run_id "
            "LEFT JOIN images ON images.id = runs.image_id LEFT JOIN results ON results.run_id = runs.id "
            "WHERE batch_items.batch_id = ? ORDER BY batch_items.file_name, results.position"
        )
        with self._connection() as connection:
            rows = connection.execute(query, (int(batch_id),)).fetchall()
        columns = [
            "file_name", "error", "run_id", "image_key", "position", "setting_name", "result_id", "mask_count",
            "coverage_pct", "statistics", "timings", "metrics",
        ]  # fmt: skip
        records = [(*row[:9], from_json(row[9]), from_json(row[10]), from_json(row[11])) for row in rows]
        return pd.DataFrame.from_records(records, columns=columns)


_HEADER_QUERY = (
    "SELECT runs.id, runs.created_at, images.image_key, runs.image_name, images.width, images.height, "
    "runs.model, runs.device, runs.source, runs.seconds FROM runs JOIN images ON images.id = runs.image_id"
)


def _headers(connection: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[RunHeader]:
    if not rows:
        return []
    ids = [int(row[0]) for row in rows]
    settings: dict[int, list[SettingSummary]] = {run_id: [] for run_id in ids}
    marks = ",".join("?" * len(ids))
    for run_id, result_id, name, count, coverage in connection.execute(
        f"SELECT run_id, id, setting_name, mask_count, coverage_pct FROM results WHERE run_id IN ({marks}) "
        "ORDER BY run_id, position",
        ids,
    ):
        settings[int(run_id)].append(SettingSummary(int(result_id), name, int(count), float(coverage)))
    return [
        RunHeader(
            run_id=int(run_id),
            created_at=float(created),
            image_key=key,
            image_name=name,
            width=int(width),
            height=int(height),
            model=model,
            device=device,
            source=source,
            seconds=float(seconds),
            settings=tuple(settings[int(run_id)]),
        )
        for run_id, created, key, name, width, height, model, device, source, seconds in rows
    ]


def _insert_run(connection: sqlite3.Connection, record: RunRecord) -> int:
    """The run's rows, inside the caller's transaction (its image row only when the image is new)."""
    image = record.image
    connection.execute(
        "INSERT OR IGNORE INTO images (image_key, name, width, height, thumbnail_png, pixels_png) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (image.image_key, image.name, image.width, image.height, image.thumbnail_png, image.pixels_png),
    )
    image_id = connection.execute("SELECT id FROM images WHERE image_key = ?", (image.image_key,)).fetchone()[0]
    created_at = record.created_at if record.created_at is not None else time.time()
    cursor = connection.execute(
        "INSERT INTO runs (image_id, image_name, model, device, created_at, source, seconds) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (image_id, record.image_name, record.model, record.device, created_at, record.source, record.seconds),
    )
    run_id = int(cursor.lastrowid or 0)
    connection.executemany(
        "INSERT INTO results (run_id, position, setting_name, setting_json, parameters_key, mask_count, "
        "coverage_pct, statistics_json, timings_json, cache_use_json, masks_npz, metrics_json, labels_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_result_row(run_id, position, result) for position, result in enumerate(record.results)],
    )
    return run_id


def _result_row(run_id: int, position: int, result: ResultRecord) -> tuple[Any, ...]:
    return (
        run_id,
        position,
        result.setting_name,
        result.setting_json,
        result.parameters_key,
        result.mask_count,
        result.coverage_pct,
        to_json(result.statistics),
        to_json(result.timings),
        to_json(result.cache_use),
        result.masks_npz,
        to_json(result.metrics),
        result.labels.to_json() if result.labels else None,
    )


def _delete_run(connection: sqlite3.Connection, run_id: int) -> bool:
    row = connection.execute("SELECT image_id FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        return False
    connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))
    connection.execute(
        "DELETE FROM images WHERE id = ? AND NOT EXISTS (SELECT 1 FROM runs WHERE image_id = ?)", (row[0], row[0])
    )
    return True
