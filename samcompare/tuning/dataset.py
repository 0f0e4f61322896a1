"""The images a dataset search runs on: each with its ground truth, from a folder or a stored batch, and the split.

Images pair with ground truth by file stem, as `batch --gt-dir` pairs them (`photo_01.jpg` with
`photo_01.png`, `.json` or `.zip`, any format `evaluate` reads). An image is read only when the
search needs it, once, so a folder of any length costs one image's pixels at a time. The split
into training and validation images is seeded: the same seed and fraction give the same split,
and the two parts never share an image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from samcompare.config import AmgConfig
from samcompare.evaluation.ground_truth import GroundTruth

if TYPE_CHECKING:
    from samcompare.store import ResultStore

DEFAULT_VAL_FRACTION = 0.25
TRAINING = "training"
VALIDATION = "validation"

Loader = Callable[[], tuple[np.ndarray, GroundTruth]]


class DatasetError(ValueError):
    """A dataset the search cannot use: no pairs, too few images to split, a bad fraction, over the memory limit."""


@dataclass(frozen=True)
class DatasetImage:
    """One image with its ground truth, read on demand (`load` raises `ImageLoadError` or `GroundTruthError`)."""

    name: str  # the image file's name: rows of every table are named by it
    ground_truth: str  # the ground-truth file's name
    load: Loader = field(repr=False, compare=False)


@dataclass(frozen=True)
class DatasetSplit:
    """Training images (searched over) and validation images (never seen by the search), each by name."""

    training: tuple[DatasetImage, ...]
    validation: tuple[DatasetImage, ...]
    description: str  # how the split was made, for the summary

    def __post_init__(self) -> None:
        if not self.training:
            raise DatasetError("no training images: the search needs at least one")


def folder_loader(image_path: Path, gt_path: Path) -> Loader:
    def load() -> tuple[np.ndarray, GroundTruth]:
        from samcompare.evaluation.ground_truth import load_ground_truth
        from samcompare.images import load_image

        pixels = load_image(image_path).pixels
        return pixels, load_ground_truth(gt_path, pixels.shape[:2], image_name=image_path.name)

    return load


@dataclass(frozen=True)
class FolderPairs:
    """A folder's images that have ground truth, and the names of those that have none."""

    images: tuple[DatasetImage, ...]
    without_truth: tuple[str, ...]
    skipped: int  # files that are not images (as `batch` leaves them out)


def folder_images(folder: Path, gt_dir: Path) -> FolderPairs:
    """Every image of `folder` (batch's rule) paired by stem with a ground-truth file of `gt_dir`, by name."""
    from samcompare.batch.inputs import list_inputs
    from samcompare.batch.metrics import GroundTruthFolderError, ground_truth_files

    try:
        inputs = list_inputs(folder)
        truths = ground_truth_files(gt_dir)
    except (NotADirectoryError, GroundTruthFolderError) as error:
        raise DatasetError(str(error)) from None
    images, without = [], []
    for name in inputs.names:
        truth = truths.get(Path(name).stem)
        if truth is None:
            without.append(name)
        else:
            images.append(DatasetImage(name, truth.name, folder_loader(inputs.path(name), truth)))
    return FolderPairs(tuple(images), tuple(without), inputs.skipped)


@dataclass(frozen=True)
class StoredBatch:
    """A batch kept in a store, as the app offers it for tuning: its model, settings and ground truth."""

    batch_id: int
    model: str
    settings: tuple[AmgConfig, ...]
    images: int  # images done
    with_truth: int  # images scored against ground truth
    truth_folder: Path | None  # the folder its ground truth was read from, when the batch recorded it

    def describe(self) -> str:
        names = ", ".join(config.name for config in self.settings)
        return (
            f"batch {self.batch_id}: {self.with_truth} of {self.images} images with ground truth, {self.model}, {names}"
        )


def stored_batches(store: ResultStore) -> list[StoredBatch]:
    """The store's batches that have images scored against ground truth, newest first."""
    from samcompare.batch.metrics import GROUND_TRUTH_COLUMN, PATH_KEY

    found = []
    for batch_id, model, configs in reversed(store.batches()):
        table = store.batch_table(batch_id)
        done = table[table["error"].isna() & table["run_id"].notna()]
        scored = {
            str(name): metrics
            for name, metrics in zip(done["file_name"], done["metrics"], strict=True)
            if isinstance(metrics, dict) and metrics.get(GROUND_TRUTH_COLUMN)
        }
        if not scored:
            continue
        folders = {Path(str(m[PATH_KEY])).parent for m in scored.values() if m.get(PATH_KEY)}
        folder = folders.pop() if len(folders) == 1 else None
        found.append(StoredBatch(batch_id, model, tuple(configs), done["file_name"].nunique(), len(scored), folder))
    return found


def _stored_loader(store: ResultStore, image_key: str, name: str, gt_path: Path) -> Loader:
    def load() -> tuple[np.ndarray, GroundTruth]:
        from samcompare.evaluation.ground_truth import load_ground_truth

        pixels = store.pixels(image_key)
        return pixels, load_ground_truth(gt_path, pixels.shape[:2], image_name=name)

    return load


def stored_batch_images(store: ResultStore, batch_id: int, gt_dir: Path) -> FolderPairs:
    """The batch's done images (pixels from the store) paired by stem with the ground truth in `gt_dir`."""
    from samcompare.batch.metrics import GroundTruthFolderError, ground_truth_files

    try:
        truths = ground_truth_files(gt_dir)
    except GroundTruthFolderError as error:
        raise DatasetError(str(error)) from None
    table = store.batch_table(batch_id)
    done = table[table["error"].isna() & table["run_id"].notna()].drop_duplicates("file_name")
    images, without = [], []
    for name, image_key in zip(done["file_name"], done["image_key"], strict=True):
        truth = truths.get(Path(str(name)).stem)
        if truth is None:
            without.append(str(name))
        else:
            images.append(DatasetImage(str(name), truth.name, _stored_loader(store, str(image_key), str(name), truth)))
    return FolderPairs(tuple(images), tuple(without), 0)


def split_images(
    images: Sequence[DatasetImage], val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 0
) -> DatasetSplit:
    """Hold out round(n x `val_fraction`) images (at least one, leaving at least one), drawn by `seed`.

    Each part keeps the input's order. A fraction of 0 holds out nothing (no validation).
    """
    if not 0.0 <= val_fraction < 1.0:
        raise DatasetError(f"the validation fraction must be in [0, 1), got {val_fraction:g}")
    names = [image.name for image in images]
    if len(set(names)) != len(names):
        raise DatasetError("two images share a name: each image needs its own")
    count = len(images)
    if count == 0:
        raise DatasetError("no image has ground truth")
    held = 0
    if val_fraction > 0.0:
        if count < 2:
            raise DatasetError(
                "one image with ground truth is too few to hold some out; add images, give a validation folder, "
                "or a validation fraction of 0"
            )
        held = min(count - 1, max(1, round(count * val_fraction)))
    chosen = set(np.random.default_rng(seed).permutation(count)[:held].tolist())
    training = tuple(image for index, image in enumerate(images) if index not in chosen)
    validation = tuple(image for index, image in enumerate(images) if index in chosen)
    description = (
        f"{len(validation)} of {count} images held out for validation (fraction {val_fraction:g}, seed {seed})"
        if held
        else f"all {count} images used for training, none held out"
    )
    return DatasetSplit(training, validation, description)


def explicit_split(training: Sequence[DatasetImage], validation: Sequence[DatasetImage]) -> DatasetSplit:
    """A validation folder given by the user in place of a drawn split."""
    return DatasetSplit(
        tuple(training),
        tuple(validation),
        f"{len(training)} training images, {len(validation)} validation images from their own folder",
    )
