"""Ground truth for one image: the objects a good setting should find, read from the formats people have.

Three formats, told apart by their content, not their file name:
- a label-map PNG (8 or 16 bit, or a palette PNG's indices): 0 is background, every other value
  one object;
- COCO JSON: RLE (compressed or not) or polygons, decoded with pycocotools; the annotations of the
  image whose size matches the image's (or whose `file_name` matches, when several do), or of
  the file's only image. A plain list of annotations (a results file, or the records SAM's
  `scripts/amg.py --convert-to-rle` writes) is read as one image's. Crowd regions
  (`iscrowd` 1) and annotations without a mask are skipped; categories are ignored;
- a ZIP of binary mask PNGs, one object each (non-zero pixels are the object); a ZIP in the layout
  of our own masks export (`masks/mask_0003.png`, ...) is read by its mask files alone.

Objects are kept as compressed COCO RLE, the form pycocotools computes IoUs on. Every bad file
gives a `GroundTruthError` with one line that says what is wrong, hostile ones too: a PNG is
checked against the image's size from its header before a pixel is decoded (so a 20,000 x 20,000
label map costs nothing), a ZIP may hold at most `MAX_ZIP_ENTRIES` entries and
`MAX_ZIP_PIXELS` mask pixels (`MAX_ZIP_BYTES` unpacked bytes) in all, and JSON nested too deeply
for the parser is refused.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from samcompare.images import read_source
from samcompare.results.exports.png_zip import MASK_FILE_PATTERN
from samcompare.results.masks import RunMasks, decode_mask, encode_mask, rle_areas

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
JPEG_SIGNATURE = b"\xff\xd8\xff"
FORMATS_TEXT = "a label-map PNG, a COCO JSON file or a ZIP of mask PNGs"
# Limits on a ZIP of mask PNGs, checked from its directory before anything is unpacked. 10,000
# entries is far more objects than any image's ground truth holds; 4 gigapixels of masks is about
# 4,000 masks of a 1024 x 1024 image or 330 of a 12-megapixel photo (each decoded one at a time);
# 1 GiB of unpacked files bounds what the PNGs themselves may weigh.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_PIXELS = 4_000_000_000
MAX_ZIP_BYTES = 1 << 30
# Polygon coordinates beyond this (or not finite) are refused: pycocotools would overflow its ints.
MAX_POLYGON_COORDINATE = 1_000_000
# What zipfile raises on a broken archive or member (a bad CRC, a corrupt deflate stream, an
# unknown compression method, an encrypted member).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, RuntimeError, NotImplementedError, EOFError)


class GroundTruthError(ValueError):
    """Ground truth that cannot be used; the message is one line a user understands."""


def size_text(size: Sequence[int]) -> str:
    """ "256 x 192 px" for an (H, W) size: width first, as image viewers say it."""
    return f"{int(size[1])} x {int(size[0])} px"


def size_mismatch(ground_truth_size: Sequence[int], image_size: Sequence[int], label: str = "") -> GroundTruthError:
    prefix = f"{label}: " if label else ""
    return GroundTruthError(
        f"{prefix}ground truth is {size_text(ground_truth_size)}, the image is {size_text(image_size)}"
    )


@dataclass(frozen=True)
class GroundTruth:
    """The objects of one image as compressed COCO RLE (pycocotools' form: counts as bytes).

    Object `i` is `objects[i]`; metrics, pictures and matches name objects by that index.
    """

    image_size: tuple[int, int]  # (H, W)
    objects: tuple[dict[str, Any], ...]
    source: str = "ground truth"  # where it came from, for captions

    def __post_init__(self) -> None:
        size = (int(self.image_size[0]), int(self.image_size[1]))
        object.__setattr__(self, "image_size", size)
        object.__setattr__(self, "objects", tuple(self.objects))
        for index, rle in enumerate(self.objects):
            rle_size = (int(rle["size"][0]), int(rle["size"][1]))
            if rle_size != size:
                raise size_mismatch(rle_size, size, f"object {index}")

    def __len__(self) -> int:
        return len(self.objects)

    @cached_property
    def areas(self) -> np.ndarray:
        """Pixels per object (int64)."""
        return rle_areas(self.objects)

    def mask(self, index: int) -> np.ndarray:
        """Boolean (H, W) mask of object `index`, decoded now."""
        return decode_mask(self.objects[index])

    def masks(self) -> Iterator[np.ndarray]:
        """Boolean masks, decoded one at a time."""
        return (self.mask(index) for index in range(len(self.objects)))

    def run_masks(self) -> RunMasks:
        """The objects as a `RunMasks`, so that samcompare.results' pictures and matching take them."""
        records = [{"segmentation": rle, "area": int(area)} for rle, area in zip(self.objects, self.areas, strict=True)]
        return RunMasks(records, self.image_size)

    def check_image_size(self, image_size: Sequence[int]) -> None:
        """Raise the one-line size message when this ground truth is not of an image of `image_size` (H, W)."""
        expected = (int(image_size[0]), int(image_size[1]))
        if self.image_size != expected:
            raise size_mismatch(self.image_size, expected)


def ground_truth_from_masks(masks: Iterable[np.ndarray], source: str = "masks") -> GroundTruth:
    """Ground truth with one object per boolean (H, W) mask, in the order given (empty masks are kept)."""
    rles: list[dict[str, Any]] = []
    size: tuple[int, int] | None = None
    for index, mask in enumerate(masks):
        array = np.asarray(mask)
        if array.ndim != 2:
            raise GroundTruthError(f"{source}: mask {index} is not 2-D (shape {array.shape})")
        if size is None:
            size = (int(array.shape[0]), int(array.shape[1]))
        elif array.shape != size:
            raise size_mismatch(array.shape, size, f"{source}, mask {index}")
        rles.append(encode_mask(array.astype(bool)))
    if size is None:
        raise GroundTruthError(f"{source}: no masks, so no image size")
    return GroundTruth(size, tuple(rles), source)


def ground_truth_from_label_map(labels: np.ndarray, source: str = "label map") -> GroundTruth:
    """One object per non-zero value of an (H, W) integer label map, in increasing order of value."""
    array = np.asarray(labels)
    if array.ndim != 2:
        raise GroundTruthError(f"{source}: a label map has one channel, got shape {array.shape}")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise GroundTruthError(f"{source}: a label map holds integers, got {array.dtype}")
    values = np.unique(array)
    values = values[values != 0]
    rles = tuple(encode_mask(np.asarray(array == value)) for value in values)
    return GroundTruth((int(array.shape[0]), int(array.shape[1])), rles, source)


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(H, W) from a PNG's IHDR chunk, read without decoding anything; None when the header is not there."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return height, width


def _read_png(data: bytes, label: str, expected_size: tuple[int, int]) -> np.ndarray:
    """The PNG's values as stored: (H, W) for grey, 16-bit grey and palette indices; (H, W, 3) for colour.

    Its size is checked against `expected_size` (H, W) from the header first, so a huge PNG is
    refused before a pixel is decoded. Pillow keeps 16-bit grey as "I;16" (read as uint16, never
    squeezed to 8 bit as `convert("L")` would) and a palette image's indices as they are (OpenCV
    would expand them to colours).
    """
    from PIL import Image

    header_size = _png_size(data)
    if header_size is not None and header_size != expected_size:
        raise size_mismatch(header_size, expected_size, label)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if (image.height, image.width) != expected_size:
                raise size_mismatch((image.height, image.width), expected_size, label)
            image.load()
            mode = image.mode
            if mode in ("1", "L", "P", "I", "I;16", "I;16L", "I;16B", "I;16N"):
                return np.asarray(image).astype(np.int64)
            if mode in ("LA", "PA"):  # the value band; transparency says nothing about labels
                return np.asarray(image.getchannel(0)).astype(np.int64)
            return np.asarray(image.convert("RGB")).astype(np.int64)
    except Image.DecompressionBombError:
        raise GroundTruthError(f"{label}: the PNG is too large to decode safely") from None
    except MemoryError:
        raise GroundTruthError(f"{label}: not enough memory to decode the PNG") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        if isinstance(error, GroundTruthError):
            raise
        raise GroundTruthError(f"{label}: cannot read the PNG, it is truncated or corrupt ({error})") from None


def _label_map_png(data: bytes, label: str, size: tuple[int, int]) -> np.ndarray:
    values = _read_png(data, label, size)
    if values.ndim == 3:
        if not (np.array_equal(values[..., 0], values[..., 1]) and np.array_equal(values[..., 0], values[..., 2])):
            raise GroundTruthError(
                f"{label}: a colour PNG is no label map; a label map has one channel "
                "(0 = background, each other value one object)"
            )
        values = values[..., 0]
    return values


def _zip_masks(data: bytes, label: str, image_size: tuple[int, int]) -> list[dict[str, Any]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as error:
        raise GroundTruthError(f"{label}: cannot read the ZIP, it is truncated or corrupt ({error})") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise GroundTruthError(
                f"{label}: the ZIP holds {len(entries):,} entries, more than the {MAX_ZIP_ENTRIES:,} allowed"
            )
        members = sorted(
            (entry for entry in entries if _is_mask_file(entry.filename)), key=lambda entry: entry.filename
        )
        ours = [entry for entry in members if MASK_FILE_PATTERN.match(entry.filename)]
        members = ours or members  # our own export: its overlay.png is no object
        if not members:
            raise GroundTruthError(f"{label}: the ZIP holds no PNG files; it should hold one mask PNG per object")
        unpacked = sum(entry.file_size for entry in members)
        if unpacked > MAX_ZIP_BYTES:
            raise GroundTruthError(
                f"{label}: its PNGs unpack to {unpacked / 2**20:,.0f} MiB, more than the "
                f"{MAX_ZIP_BYTES / 2**20:,.0f} MiB allowed"
            )
        pixels = len(members) * image_size[0] * image_size[1]
        if pixels > MAX_ZIP_PIXELS:
            raise GroundTruthError(
                f"{label}: {len(members):,} masks of {size_text(image_size)} are {pixels:,} pixels, more than the "
                f"{MAX_ZIP_PIXELS:,} allowed; split the ground truth or give a label map"
            )
        rles = []
        for entry in members:
            name = entry.filename
            member = f"{label}/{name}"
            try:
                member_data = archive.read(entry)
            except ZIP_ERRORS as error:
                raise GroundTruthError(f"{member}: cannot read it from the ZIP ({error})") from None
            values = _read_png(member_data, member, image_size)
            mask = np.asarray(values.any(axis=2) if values.ndim == 3 else values != 0)
            if mask.any():  # an empty PNG is no object
                rles.append(encode_mask(mask))
    return rles


def _is_mask_file(name: str) -> bool:
    return name.lower().endswith(".png") and not name.startswith("__MACOSX/") and not name.endswith("/")


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # None, text, NaN, infinity
        return None


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"an RLE count is a whole number, not {value!r}")
    return value


def _compressed_runs(counts: bytes) -> list[int] | None:
    """The run lengths of a compressed COCO RLE string, decoded as pycocotools' `rleFrString` does.

    None when the string is malformed: pycocotools itself checks nothing and would read past the
    string's end or write past the mask's (a crash, not an error) on such input.
    """
    runs: list[int] = []
    position, length = 0, len(counts)
    while position < length:
        value, shift, more = 0, 0, True
        while more:
            if position >= length or shift > 6:
                return None
            code = counts[position] - 48
            if not 0 <= code < 64:
                return None
            value |= (code & 0x1F) << (5 * shift)
            more = bool(code & 0x20)
            position += 1
            shift += 1
            if not more and code & 0x10:
                value |= -1 << (5 * shift)
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def _check_runs(runs: list[int] | None, size: tuple[int, int], label: str) -> None:
    """An RLE's runs must be lengths that add up to the image exactly (anything else overruns the mask)."""
    total = size[0] * size[1]
    if runs is None or any(run < 0 or run >= 2**32 for run in runs) or sum(runs) != total:
        raise GroundTruthError(f"{label}: the RLE counts are corrupt (their runs do not cover the {total:,} pixels)")


def _annotation_rle(segmentation: Any, size: tuple[int, int], label: str) -> dict[str, Any]:
    """Compressed RLE of one COCO segmentation: polygons, uncompressed RLE or compressed RLE."""
    height, width = size
    try:
        if isinstance(segmentation, list):  # polygons: [[x1, y1, x2, y2, ...], ...]
            polygons = [[float(v) for v in polygon] for polygon in segmentation]
            if any(len(polygon) < 6 or len(polygon) % 2 for polygon in polygons):
                raise GroundTruthError(f"{label}: a polygon needs at least 3 points as x, y pairs")
            # pycocotools turns coordinates into C ints unchecked: NaN or 1e309 would crash the process.
            if not all(math.isfinite(v) and abs(v) <= MAX_POLYGON_COORDINATE for p in polygons for v in p):
                raise GroundTruthError(
                    f"{label}: a polygon point is not a number within {MAX_POLYGON_COORDINATE:,} px of the image"
                )
            return dict(mask_utils.merge(mask_utils.frPyObjects(polygons, height, width)))
        if isinstance(segmentation, Mapping) and "counts" in segmentation and "size" in segmentation:
            rle_size = (int(segmentation["size"][0]), int(segmentation["size"][1]))
            if rle_size != size:
                raise size_mismatch(rle_size, size, label)
            counts = segmentation["counts"]
            if isinstance(counts, list):
                values = [_count(value) for value in counts]
                _check_runs(values, rle_size, label)
                return dict(mask_utils.frPyObjects({"size": list(rle_size), "counts": values}, height, width))
            if isinstance(counts, str):
                counts = counts.encode("ascii")
            if not isinstance(counts, bytes):
                raise GroundTruthError(f"{label}: RLE counts must be a string or a list of integers")
            _check_runs(_compressed_runs(counts), rle_size, label)
            return {"size": list(rle_size), "counts": counts}
    except GroundTruthError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, UnicodeEncodeError, OverflowError, MemoryError) as error:
        raise GroundTruthError(f"{label}: cannot decode the segmentation ({type(error).__name__}: {error})") from None
    raise GroundTruthError(f"{label}: a segmentation is a list of polygons or an RLE with size and counts")


def _choose_coco_image(
    images: list[Mapping[str, Any]], image_size: tuple[int, int], image_name: str | None, label: str
) -> Mapping[str, Any]:
    def size_of(image: Mapping[str, Any]) -> tuple[int | None, int | None]:
        return _as_int(image.get("height")), _as_int(image.get("width"))

    if len(images) == 1:
        return images[0]
    same_size = [image for image in images if size_of(image) == image_size]
    if len(same_size) == 1:
        return same_size[0]
    if not same_size:
        raise GroundTruthError(
            f"{label}: none of its {len(images)} images is {size_text(image_size)}, the image's size"
        )
    if image_name:
        wanted = PurePosixPath(image_name.replace("\\", "/")).name
        named = [i for i in same_size if PurePosixPath(str(i.get("file_name", "")).replace("\\", "/")).name == wanted]
        if len(named) == 1:
            return named[0]
    by_name = f" (nor by the file name {image_name})" if image_name else ""
    raise GroundTruthError(
        f"{label}: {len(same_size)} images of {size_text(image_size)} and no way to choose one{by_name}; "
        "keep only this image's entry and its annotations"
    )


def _coco_objects(
    data: bytes, label: str, image_size: tuple[int, int], image_name: str | None
) -> tuple[list[dict[str, Any]], str]:
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise GroundTruthError(f"{label}: not UTF-8 text, so not a COCO JSON file") from None
    except json.JSONDecodeError as error:
        raise GroundTruthError(f"{label}: not valid JSON ({error.msg}, line {error.lineno})") from None
    except RecursionError:
        raise GroundTruthError(f"{label}: JSON nested too deeply to read; COCO JSON is a few levels deep") from None
    note = ""
    if isinstance(parsed, list):  # a results file or SAM records: one image's annotations
        annotations = parsed
        image_ids = {item.get("image_id") for item in annotations if isinstance(item, Mapping)}
        if len(image_ids - {None}) > 1:
            raise GroundTruthError(
                f"{label}: annotations of {len(image_ids - {None})} images and no image sizes, so no way to choose"
            )
        size = image_size
    elif isinstance(parsed, Mapping) and isinstance(parsed.get("annotations"), list):
        images = [image for image in parsed.get("images") or [] if isinstance(image, Mapping)]
        annotations = parsed["annotations"]
        size = image_size
        if images:
            chosen = _choose_coco_image(images, image_size, image_name, label)
            chosen_size = (_as_int(chosen.get("height")), _as_int(chosen.get("width")))
            if None in chosen_size:
                raise GroundTruthError(f"{label}: its image entry has no height and width")
            if chosen_size != image_size:
                raise size_mismatch(chosen_size, image_size, label)  # type: ignore[arg-type]
            annotations = [a for a in annotations if isinstance(a, Mapping) and a.get("image_id") == chosen.get("id")]
            if len(images) > 1:
                note = f", image {chosen.get('file_name') or chosen.get('id')}"
    else:
        raise GroundTruthError(f"{label}: JSON, but not COCO: it has no 'annotations' list")
    rles: list[dict[str, Any]] = []
    crowds = without_mask = 0
    for position, annotation in enumerate(annotations):
        if not isinstance(annotation, Mapping):
            raise GroundTruthError(f"{label}: annotation {position} is not an object")
        if annotation.get("iscrowd"):
            crowds += 1
            continue
        segmentation = annotation.get("segmentation")
        if not segmentation:
            without_mask += 1
            continue
        where = f"{label}, annotation {annotation.get('id', position)}"
        rle = _annotation_rle(segmentation, size, where)
        if int(mask_utils.area(rle)) > 0:
            rles.append(rle)
    if not rles:
        skipped = []
        if crowds:
            skipped.append(f"{crowds} crowd regions skipped")
        if without_mask:
            skipped.append(f"{without_mask} annotations without a mask")
        detail = f" ({', '.join(skipped)})" if skipped else ""
        raise GroundTruthError(f"{label}: no objects for this image{detail}")
    return rles, note


def load_ground_truth(
    data: bytes | Path | str,
    image_size: Sequence[int],
    file_name: str | None = None,
    image_name: str | None = None,
) -> GroundTruth:
    """Ground truth for an image of `image_size` (H, W) from a file's bytes or path, its format read from the content.

    `file_name` names the file in messages (a path's name by default); `image_name`, the image's
    file name, picks a COCO image when several have the image's size.
    """
    size = (int(image_size[0]), int(image_size[1]))
    content, label = read_source(data, file_name, "ground truth", GroundTruthError)

    if content.startswith(PNG_SIGNATURE):
        labels = _label_map_png(content, label, size)
        truth = ground_truth_from_label_map(labels, f"{label} (label map)")
        if not len(truth):
            raise GroundTruthError(f"{label}: no objects: every pixel is 0, the background")
        return truth
    if content.startswith(ZIP_SIGNATURES):
        rles = _zip_masks(content, label, size)
        if not rles:
            raise GroundTruthError(f"{label}: no objects: every mask PNG in the ZIP is empty")
        return GroundTruth(size, tuple(rles), f"{label} (ZIP of {len(rles)} mask PNGs)")
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        rles, note = _coco_objects(content, label, size, image_name)
        return GroundTruth(size, tuple(rles), f"{label} (COCO JSON{note})")
    if content.startswith(JPEG_SIGNATURE):
        raise GroundTruthError(f"{label}: a JPEG cannot hold exact labels (it is lossy); save the label map as PNG")
    raise GroundTruthError(f"{label}: unknown ground-truth format; give {FORMATS_TEXT}")
