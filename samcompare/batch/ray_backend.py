"""A batch on Ray: one actor per GPU (or per CPU slot) loads the model once and turns file bytes into runs.

Images reach the workers as bytes read by the driver and passed through Ray's object store, so a
cluster needs no shared disk: each node needs only the samcompare package and the checkpoint.
Workers return runs ready for the store (PNG, statistics and masks packed); the driver alone
writes the database, one transaction per image, as results arrive. Each worker computes with the
same number of torch threads as a local batch, so the results are the same bits.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from samcompare.batch.work import ImageOutcome, load_setting_models, process_image
from samcompare.config import AmgConfig

LOCAL = "local"  # start a Ray instance on this machine (or use the one this process already started)
IN_FLIGHT_PER_WORKER = 2  # one image computing, one waiting: a worker never idles on the transfer


class RayBatchError(RuntimeError):
    """Ray could not be reached, had no room for a worker, or a worker failed; the message says which."""


class BatchWorker:
    """The actor's class: the model, loaded once on the worker's node, and the batch's settings."""

    def __init__(self, model_name: str, device: str, settings_json: Sequence[str], threads: int) -> None:
        import torch

        torch.set_num_threads(int(threads))
        self.model_name = model_name
        self.configs = [AmgConfig.from_json(text) for text in settings_json]
        self.models = load_setting_models(model_name, device, self.configs)
        self.device = str(next(self.models[None].parameters()).device)

    def describe(self) -> str:
        import socket

        return f"{socket.gethostname()} {self.device}"

    def process(self, file_name: str, data: bytes, digest: str) -> ImageOutcome:
        return process_image(self.models, self.model_name, self.device, file_name, data, digest, self.configs)


def connect(address: str) -> bool:
    """Join `address` ("auto", "host:port", "ray://...") or start a local instance; True if this call started Ray."""
    import ray

    if ray.is_initialized():
        return False
    try:
        if address == LOCAL:
            ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise RayBatchError(f"cannot join the Ray cluster at {address!r}: {error}") from None
    return True


def worker_plan(device: str, workers: int | None, threads: int) -> tuple[int, dict[str, float]]:
    """How many actors, and what each asks Ray for: a GPU each where the cluster has them, else `threads` CPUs."""
    import ray

    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
    wants_gpu = device == "auto" or device.startswith("cuda")
    if wants_gpu and gpus > 0:
        count, request = gpus, {"num_gpus": 1.0, "num_cpus": float(threads)}
    elif device.startswith("cuda"):
        raise RayBatchError(f"--device {device} asked for, but the Ray cluster has no GPU")
    else:
        count, request = max(1, cpus // threads), {"num_cpus": float(threads)}
    if workers is not None:
        count = min(count, workers)  # more would wait for room forever
    return max(1, count), request


def ray_outcomes(
    model_name: str,
    device: str,
    configs: Sequence[AmgConfig],
    jobs: Sequence[tuple[str, str]],
    read: Callable[[str], bytes],
    address: str = LOCAL,
    workers: int | None = None,
    threads: int = 1,
    on_workers: Callable[[list[str]], None] | None = None,
) -> Iterator[ImageOutcome]:
    """Outcomes of `jobs` ((file name, digest) pairs) as the workers finish them; `read` gives a file's bytes.

    A file the driver cannot read is a failed outcome at once. Actors are stopped at the end (and
    Ray too, if this call started it).
    """
    import ray
    import ray.exceptions

    started = connect(address)
    actors: list[Any] = []
    try:
        count, request = worker_plan(device, workers, threads)
        remote_worker = ray.remote(BatchWorker).options(**request)  # type: ignore[call-overload]
        settings_json = [config.to_json() for config in configs]
        actors = [remote_worker.remote(model_name, device, settings_json, threads) for _ in range(count)]
        try:
            described = ray.get([actor.describe.remote() for actor in actors])
        except ray.exceptions.RayError as error:
            raise RayBatchError(f"a Ray worker could not load the model: {_first_line(error)}") from None
        if on_workers is not None:
            on_workers(described)

        waiting = deque(jobs)
        in_flight: dict[Any, Any] = {}
        unreadable: list[ImageOutcome] = []

        def feed(actor: Any) -> None:
            while waiting:
                name, digest = waiting.popleft()
                try:
                    data = read(name)
                except OSError as error:
                    unreadable.append(ImageOutcome(name, digest, None, f"{name}: cannot read the file ({error})"))
                    continue
                in_flight[actor.process.remote(name, data, digest)] = actor
                return

        for actor in actors:
            for _ in range(IN_FLIGHT_PER_WORKER):
                feed(actor)
        while in_flight or unreadable:
            while unreadable:
                yield unreadable.pop(0)
            if not in_flight:
                break
            (ready,), _ = ray.wait(list(in_flight), num_returns=1)
            actor = in_flight.pop(ready)
            try:
                outcome = ray.get(ready)
            except ray.exceptions.RayError as error:
                raise RayBatchError(
                    f"a Ray worker failed: {_first_line(error)}; the images finished so far are stored, "
                    "run the same command again to go on"
                ) from None
            feed(actor)
            yield outcome
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    messages = [line for line in lines if "Error:" in line and not line.startswith("File ")]
    return (messages[-1] if messages else lines[-1] if lines else type(error).__name__)[:300]
