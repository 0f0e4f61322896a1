"""The store's tables, version by version, and the steps that bring an older database up to date.

`PRAGMA user_version` holds the schema version. `MIGRATIONS[i]` takes a database from version
`i` to `i + 1` (version 0 is an empty file), so a new database runs every step and an old one
only the steps it lacks; a released step is never edited, only followed by a new one.
"""

from __future__ import annotations

import sqlite3

# Version 1: what the app's history needs. One row per distinct image (content hash), one per
# run (a press of Run in the app, one image of a batch), one per setting's result in a run.
V1_DDL = """
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    image_key TEXT NOT NULL UNIQUE,      -- samcompare.engine.cache.image_key of the pixels
    name TEXT NOT NULL,                  -- the name it was first stored under
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    thumbnail_png BLOB NOT NULL,
    pixels_png BLOB NOT NULL             -- lossless: History redraws overlays from it
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images (id),
    image_name TEXT NOT NULL,            -- the name in this run (the same pixels may come under two names)
    model TEXT NOT NULL,
    device TEXT NOT NULL,
    created_at REAL NOT NULL,            -- seconds since the epoch, UTC
    source TEXT NOT NULL CHECK (source IN ('app', 'batch')),
    seconds REAL NOT NULL                -- wall time of the whole comparison
);
CREATE INDEX runs_by_time ON runs (created_at);
CREATE INDEX runs_by_image ON runs (image_id);
CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,           -- the setting's place in the run, from 0
    setting_name TEXT NOT NULL,
    setting_json TEXT NOT NULL,          -- AmgConfig.to_json()
    parameters_key TEXT NOT NULL,        -- the parameters without the name: one setting under any name
    mask_count INTEGER NOT NULL,
    coverage_pct REAL NOT NULL,
    statistics_json TEXT NOT NULL,       -- samcompare.results.stats.RunSummary
    timings_json TEXT NOT NULL,          -- StageTimings
    cache_use_json TEXT NOT NULL,        -- CacheUse
    masks_npz BLOB NOT NULL,             -- the RunResult's RLE counts and arrays, dtypes kept
    metrics_json TEXT,                   -- ground-truth metrics; NULL where there is no ground truth
    UNIQUE (run_id, position)
);
CREATE INDEX results_by_parameters ON results (parameters_key);
"""

# Version 2: what a resumable batch needs. A batch is a folder run with fixed settings and model;
# each of its files is done (its run) or failed (its message), so a second start skips the done
# ones and a failed file, which has no image row, still has its row in images.csv.
V1_TO_V2 = """
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    signature TEXT NOT NULL UNIQUE,      -- hash of the model and the settings
    model TEXT NOT NULL,
    settings_json TEXT NOT NULL,         -- a JSON list of AmgConfig.to_dict()
    created_at REAL NOT NULL
);
CREATE TABLE batch_items (
    batch_id INTEGER NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    file_digest TEXT NOT NULL,           -- of the file's bytes: an edited file is run again
    run_id INTEGER REFERENCES runs (id) ON DELETE CASCADE,
    error TEXT,                          -- NULL when done
    CHECK ((run_id IS NULL) != (error IS NULL)),
    PRIMARY KEY (batch_id, file_name)
);
"""

# Version 3: the class names a user gave to masks of a result (results/labels.py), kept with the run
# so History's Open brings them back. NULL: no names (every mask is "object").
V2_TO_V3 = """
ALTER TABLE results ADD COLUMN labels_json TEXT;  -- MaskLabels.to_json(): {"mask id": "class name"}
"""

MIGRATIONS: tuple[str, ...] = (V1_DDL, V1_TO_V2, V2_TO_V3)
SCHEMA_VERSION = len(MIGRATIONS)


class NewerSchemaError(RuntimeError):
    """The database was written by a newer samcompare whose tables this one does not know."""


def schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to `target`, all steps in one transaction; returns the version it had.

    Safe when several processes open a new database at once: the first to take the write lock
    migrates, the others find the version already current once they get it.
    """
    if schema_version(connection) == target:
        return target
    connection.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(connection)
        if found > SCHEMA_VERSION:
            raise NewerSchemaError(
                f"the database has schema version {found}, newer than this samcompare's {SCHEMA_VERSION}; "
                "update samcompare or use another database"
            )
        for version in range(found, target):
            for statement in _statements(MIGRATIONS[version]):
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {int(max(found, target))}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return found


def _statements(script: str) -> list[str]:
    """The SQL statements of a script (executescript would commit our transaction)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement: {pending.strip()[:60]}")
    return statements
