"""Which files of a folder a batch runs on, and a digest of each so an edited file is run again.

Every regular file whose extension Pillow registers as an image format is an input (hidden files
and subfolders are not); a file among them that does not decode becomes a failed row, not the
end of the batch. Other files (notes, ground-truth folders, CSVs) are counted and left alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BatchInputs:
    """The folder's image files in name order, and how many other files were left out."""

    folder: Path
    names: tuple[str, ...]
    skipped: int

    def path(self, name: str) -> Path:
        return self.folder / name


def image_extensions() -> frozenset[str]:
    """Lower-case extensions (with the dot) of every format this Pillow can open."""
    from PIL import Image

    return frozenset(
        extension for extension, format_name in Image.registered_extensions().items() if format_name in Image.OPEN
    )


def list_inputs(folder: Path) -> BatchInputs:
    """The image files directly in `folder`, sorted by name; raises NotADirectoryError for a missing folder."""
    if not folder.is_dir():
        raise NotADirectoryError(f"image folder not found: {folder}")
    extensions = image_extensions()
    names, skipped = [], 0
    for path in folder.iterdir():
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() in extensions:
            names.append(path.name)
        else:
            skipped += 1
    return BatchInputs(folder, tuple(sorted(names)), skipped)


def file_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
