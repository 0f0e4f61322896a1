"""One image of a batch, from file bytes to a run ready for the store: the same code locally and on a Ray worker.

Work is shared per image exactly as in the app: one `compare(model, image, configs)` call runs
every setting. The slow parts of storing (PNG encoding, statistics, packing masks) happen here
too, so a Ray driver only inserts rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from samcompare.config import AmgConfig
from samcompare.engine import compare
from samcompare.images import ImageLoadError, load_image
from samcompare.store import RunRecord


@dataclass(frozen=True)
class ImageOutcome:
    """What became of one file: a run to store, or the message of why it failed."""

    file_name: str
    file_digest: str
    run: RunRecord | None
    error: str | None

    @property
    def done(self) -> bool:
        return self.run is not None


def load_setting_models(default: str, device: str, configs: Sequence[AmgConfig]) -> dict[str | None, torch.nn.Module]:
    """The batch's default model (under None) and every other model a setting names, each loaded once."""
    from samcompare.models import load_model

    models: dict[str | None, torch.nn.Module] = {None: load_model(default, device)}
    models[default] = models[None]
    for name in dict.fromkeys(config.model for config in configs if config.model is not None):
        if name not in models:
            models[name] = load_model(name, device)
    return models


def process_image(
    model: torch.nn.Module | dict[str | None, torch.nn.Module],
    model_name: str,
    device: str,
    file_name: str,
    data: bytes,
    digest: str,
    configs: Sequence[AmgConfig],
) -> ImageOutcome:
    """Decode `data`, run every setting in one `compare` call (`model`: one, or one per setting's model name),
    and prepare the run for the store.

    A file that does not decode, or an image the engine refuses, is an outcome with an error, so
    the batch goes on.
    """
    try:
        loaded = load_image(data, file_name)
    except ImageLoadError as error:
        return ImageOutcome(file_name, digest, None, str(error))
    tick = time.perf_counter()
    try:
        results = compare(model, loaded.pixels, list(configs))
    except (RuntimeError, ValueError, MemoryError) as error:  # e.g. out of memory on a huge image
        return ImageOutcome(file_name, digest, None, f"{type(error).__name__}: {error}")
    seconds = time.perf_counter() - tick
    run = RunRecord.from_results(loaded.pixels, file_name, model_name, device, results, "batch", seconds)
    return ImageOutcome(file_name, digest, run, None)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with `threads` intra-op threads (None: leave them), then restore the old count.

    PyTorch's CPU kernels round differently with different thread counts, so a batch fixes the count
    per image: a local run and each Ray worker then give the same bits.
    """
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
