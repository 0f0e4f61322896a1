"""Batch: every image of a folder under the same settings, resumable, on this machine or a Ray cluster.

`run_batch(BatchRequest(folder, configs, model_name, out_dir, device, ray_address, workers, threads))`
commits each image's run to OUT/samcompare.db as it finishes, then derives images.csv,
summary.csv, masks/ and report.html from the store. `python -m samcompare batch` is its CLI.
"""

from samcompare.batch.inputs import BatchInputs, file_digest, list_inputs
from samcompare.batch.outputs import BatchFiles, images_table, summary_table, write_outputs
from samcompare.batch.runner import BatchError, BatchPlan, BatchRequest, BatchSummary, plan_batch, run_batch
from samcompare.batch.work import ImageOutcome, process_image

__all__ = [
    "BatchError",
    "BatchFiles",
    "BatchInputs",
    "BatchPlan",
    "BatchRequest",
    "BatchSummary",
    "ImageOutcome",
    "file_digest",
    "images_table",
    "list_inputs",
    "plan_batch",
    "process_image",
    "run_batch",
    "summary_table",
    "write_outputs",
]
