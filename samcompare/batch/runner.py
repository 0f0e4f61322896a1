"""`run_batch`: every image of a folder under the same settings, resumable, locally or on Ray.

Each image's run is committed to OUT/samcompare.db the moment it finishes, so a batch stopped at
any point loses at most the images in progress; started again, it skips every file already done
(same name, same bytes) and runs the rest. The output files are then derived from the store.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samcompare.batch.inputs import BatchInputs, file_digest, list_inputs
from samcompare.batch.metrics import GroundTruthFolderError, ground_truth_files, score_batch
from samcompare.batch.outputs import EXPORT_FOLDERS, BatchFiles, write_outputs
from samcompare.batch.work import ImageOutcome, load_setting_models, process_image, torch_threads
from samcompare.config import AmgConfig
from samcompare.evaluation.metrics import threshold_suffix
from samcompare.results.exports.formats import ExportOptions
from samcompare.store import DATABASE_NAME, ResultStore, batch_signature

DEFAULT_THREADS = 1


class BatchError(ValueError):
    """A batch that cannot start: no images, clashing setting names, an output folder holding another batch."""


@dataclass(frozen=True)
class BatchRequest:
    """What to run: a folder, settings and a model, where the results go, and where the work runs."""

    folder: Path
    configs: tuple[AmgConfig, ...]
    model_name: str
    out_dir: Path
    device: str = "auto"
    ray_address: str | None = None  # None: this process; "local": a local Ray instance; else a cluster address
    workers: int | None = None  # Ray only: at most this many workers
    threads: int = DEFAULT_THREADS  # torch threads per image, here and on every Ray worker
    gt_dir: Path | None = None  # ground truth by file stem: metrics of evaluate per image and setting
    iou_thresholds: tuple[float, ...] = (0.5, 0.75)
    exports: ExportOptions = ExportOptions()  # the dataset formats written per image (not part of the batch)

    @property
    def store_path(self) -> Path:
        return self.out_dir / DATABASE_NAME


@dataclass(frozen=True)
class BatchPlan:
    """The folder's images and which of them still need running."""

    inputs: BatchInputs
    batch_id: int
    todo: tuple[tuple[str, str], ...]  # (file name, digest) of files not done yet, by name

    @property
    def already_done(self) -> int:
        return len(self.inputs.names) - len(self.todo)


@dataclass(frozen=True)
class BatchSummary:
    """How a batch ended."""

    images: int
    ran_now: int
    done: int
    failed: int
    files: BatchFiles


def check_request(request: BatchRequest) -> None:
    if not request.configs:
        raise BatchError("give at least one setting (--preset NAME or --config FILE)")
    names = [config.name for config in request.configs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BatchError(f"two settings are named {repeated[0]!r}; give each setting its own name")
    if request.threads < 1:
        raise BatchError(f"threads must be at least 1, got {request.threads}")
    if request.workers is not None and request.workers < 1:
        raise BatchError(f"workers must be at least 1, got {request.workers}")


def plan_batch(request: BatchRequest, store: ResultStore) -> BatchPlan:
    """List the folder, find (or create) this batch in the store, and leave out what is done."""
    try:
        inputs = list_inputs(request.folder)
    except NotADirectoryError as error:
        raise BatchError(str(error)) from None
    if not inputs.names:
        raise BatchError(f"no image files in {request.folder}")
    signature = batch_signature(request.model_name, request.configs)
    for _, model, configs in store.batches():
        if batch_signature(model, configs) != signature:
            raise BatchError(
                f"{request.out_dir} holds a batch of other settings or another model ({model}: "
                f"{', '.join(config.name for config in configs)}); choose another --out"
            )
    batch_id = store.batch_id(request.model_name, request.configs)
    items = store.batch_items(batch_id)
    todo = []
    for name in inputs.names:
        try:
            digest = file_digest(inputs.path(name).read_bytes())
        except OSError:
            digest = ""  # unreadable: it fails again below, with its message
        item = items.get(name)
        if item is None or not item.done or item.file_digest != digest:
            todo.append((name, digest))
    return BatchPlan(inputs, batch_id, tuple(todo))


def local_outcomes(
    request: BatchRequest,
    jobs: Sequence[tuple[str, str]],
    read: Callable[[str], bytes],
    on_ready: Callable[[str], None] | None = None,
) -> Iterator[ImageOutcome]:
    """Outcomes of `jobs` computed in this process, one image at a time."""
    models = load_setting_models(request.model_name, request.device, request.configs)
    device = str(next(models[None].parameters()).device)
    if on_ready is not None:
        on_ready(f"model {request.model_name} on {device}, {request.threads} torch thread(s)")
    with torch_threads(request.threads):
        for name, digest in jobs:
            try:
                data = read(name)
            except OSError as error:
                yield ImageOutcome(name, digest, None, f"{name}: cannot read the file ({error})")
                continue
            yield process_image(models, request.model_name, device, name, data, digest, request.configs)


class _ImageBar:
    """The batch's tqdm bar, started once the model or the workers are ready (so its rate is the images')."""

    def __init__(self, total: int, echo: Callable[[str], None], enabled: bool) -> None:
        self.total, self.echo, self.enabled = total, echo, enabled
        self.bar: Any = None

    def start(self, description: str) -> None:
        from tqdm import tqdm

        self.echo(description)
        self.bar = tqdm(total=self.total, unit="image", file=sys.stderr, disable=not self.enabled)

    def advance(self, failed: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"failed {failed}" if failed else "", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def open_batch(
    request: BatchRequest, echo: Callable[[str], None]
) -> tuple[ResultStore, BatchPlan, dict[str, Path] | None]:
    """Check the request and the ground-truth folder (before any image runs), open the store, plan what is left."""
    check_request(request)
    gt_files = None
    if request.gt_dir is not None:
        try:
            gt_files = ground_truth_files(request.gt_dir)  # before any image runs: a bad folder fails fast
        except GroundTruthFolderError as error:
            raise BatchError(str(error)) from None
    request.out_dir.mkdir(parents=True, exist_ok=True)
    store = ResultStore(request.store_path)
    plan = plan_batch(request, store)
    inputs = plan.inputs
    left_out = f" ({inputs.skipped} other files left out)" if inputs.skipped else ""
    echo(
        f"{len(inputs.names)} images in {request.folder}{left_out}; {plan.already_done} done before, "
        f"{len(plan.todo)} to run"
    )
    return store, plan, gt_files


def outcomes_of(request: BatchRequest, plan: BatchPlan, ready: Callable[[str], None]) -> Iterator[ImageOutcome]:
    """The outcomes of the images left to run, from this process or from Ray workers, as they come."""
    if not plan.todo:
        return iter(())

    def read(name: str) -> bytes:
        return plan.inputs.path(name).read_bytes()

    if request.ray_address is None:
        return local_outcomes(request, plan.todo, read, on_ready=ready)
    from samcompare.batch.ray_backend import ray_outcomes

    return ray_outcomes(
        request.model_name,
        request.device,
        request.configs,
        plan.todo,
        read,
        address=request.ray_address,
        workers=request.workers,
        threads=request.threads,
        on_workers=lambda described: ready(f"Ray: {len(described)} workers ({', '.join(sorted(set(described)))})"),
    )


def store_outcomes(
    store: ResultStore, plan: BatchPlan, outcomes: Iterator[ImageOutcome], bar: _ImageBar, echo: Callable[[str], None]
) -> int:
    """Commit each image's outcome as it arrives; how many arrived. Interrupted, it says how to go on."""
    ran = failed = 0
    try:
        for outcome in outcomes:
            store.record_batch_item(plan.batch_id, outcome.file_name, outcome.file_digest, outcome.run, outcome.error)
            ran += 1
            failed += not outcome.done
            bar.advance(failed)
    except KeyboardInterrupt:
        echo(f"interrupted: {ran} images stored, {len(plan.todo) - ran} left; run the same command again to go on")
        raise
    finally:
        bar.close()
    return ran


def finish_batch(
    request: BatchRequest,
    store: ResultStore,
    plan: BatchPlan,
    gt_files: dict[str, Path] | None,
    ran: int,
    echo: Callable[[str], None],
) -> BatchSummary:
    """Score what has ground truth and lacks metrics, then derive every output file from the store."""
    inputs = plan.inputs
    if gt_files is not None:
        scored = score_batch(store, plan.batch_id, gt_files, request.iou_thresholds, echo)
        echo(f"ground truth for {sum(Path(n).stem in gt_files for n in inputs.names)} images; {scored} scored now")
    files = write_outputs(
        store,
        plan.batch_id,
        inputs.names,
        request.configs,
        request.out_dir,
        f"{request.folder.name}: {request.model_name}",
        request.exports,
        paired_metric=f"f1_{threshold_suffix(request.iou_thresholds[0])}",
    )
    done_images = int((files.images.drop_duplicates("image")["status"] == "done").sum())
    summary = BatchSummary(
        images=len(inputs.names),
        ran_now=ran,
        done=done_images,
        failed=len(inputs.names) - done_images,
        files=files,
    )
    folders = "".join(f"{EXPORT_FOLDERS[name]}/, " for name in request.exports.names)
    paired = f"{files.paired_csv.name}, " if files.paired_csv is not None else ""
    echo(
        f"{summary.done} of {summary.images} images done, {summary.failed} failed; wrote {files.images_csv.name}, "
        f"{files.summary_csv.name}, {paired}{folders}and {files.report_html.name} in {request.out_dir}"
    )
    for comparison in files.paired:
        echo(comparison.verdict())
    return summary


def run_batch(request: BatchRequest, echo: Callable[[str], None] = print, progress: bool = True) -> BatchSummary:
    """Run what is left of the batch, committing each image as it finishes, then write the output files."""
    store, plan, gt_files = open_batch(request, echo)
    bar = _ImageBar(len(plan.todo), echo, progress)
    ran = store_outcomes(store, plan, outcomes_of(request, plan, bar.start), bar, echo)
    return finish_batch(request, store, plan, gt_files, ran, echo)
