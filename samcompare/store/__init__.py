"""The store: every comparison run kept in one embedded SQLite database (no server to start).

`ResultStore(path=None)` opens (creating and migrating as needed) `path`, else
`$SAMCOMPARE_HOME/samcompare.db`, else samcompare.db in the user's data folder. It keeps each run's
image (content hash, name, size, thumbnail, pixels), model, device, time and source (app or
batch), and per setting the setting, statistics, masks, timings and ground-truth metrics (NULL
until someone sets them). A `RunResult` read back gives records equal to the original's. Every
failure to open or write it is a `StoreError`. `setting_choices` and `across_images` turn
`ResultStore.results_table()` into one row per image for chosen settings; `paired_across_images` pairs them.
"""

from samcompare.store.across import VALUES, across_images, paired_across_images, setting_choices, setting_label
from samcompare.store.records import ImageRecord, ResultRecord, RunRecord, parameters_key
from samcompare.store.schema import MIGRATIONS, SCHEMA_VERSION
from samcompare.store.store import (
    DATABASE_NAME,
    HOME_VARIABLE,
    BatchItem,
    ResultStore,
    RunHeader,
    SettingSummary,
    StoredResult,
    StoredRun,
    StoreError,
    batch_signature,
    default_store_path,
)

__all__ = [
    "DATABASE_NAME",
    "HOME_VARIABLE",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "VALUES",
    "BatchItem",
    "ImageRecord",
    "ResultRecord",
    "ResultStore",
    "RunHeader",
    "RunRecord",
    "SettingSummary",
    "StoreError",
    "StoredResult",
    "StoredRun",
    "across_images",
    "paired_across_images",
    "batch_signature",
    "default_store_path",
    "parameters_key",
    "setting_choices",
    "setting_label",
]
