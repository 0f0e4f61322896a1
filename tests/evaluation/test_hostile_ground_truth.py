"""Hostile ground-truth files end in one line, never a traceback, whichever reader meets them.

A corpus of broken files (a real 20,000 x 20,000 label-map PNG, the same inside a mask ZIP, JSON
nested 100,000 deep, ZIPs over the stated limits, truncated and bit-flipped copies of good files)
and property-based tests (hypothesis) that feed the reader mutated and random bytes: each gives
ground truth or a one-line `GroundTruthError`. The CLI's evaluate says the same in one `error:` line.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from samcompare.cli import main
from samcompare.evaluation import GroundTruth, GroundTruthError, load_ground_truth
from samcompare.evaluation import ground_truth as ground_truth_module
from samcompare.samples import HELDOUT_DIR

SIZE = (24, 32)  # (H, W) of the image the ground truth is for
HUGE_SIDE = 20_000


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_label_png(side: int = HUGE_SIDE) -> bytes:
    """A genuine 8-bit grey PNG of side x side pixels (one object in a corner), compressed row by row.

    Every byte is a valid PNG: Pillow refuses it only for its size (a decompression bomb), which is
    what a user's huge label map looks like.
    """
    compressor = zlib.compressobj(9)
    blank = b"\x00" * (side + 1)  # filter byte + a row of background
    marked = b"\x00" + b"\x01" * 16 + b"\x00" * (side - 16)
    parts = [compressor.compress(marked) for _ in range(16)]
    parts += [compressor.compress(blank) for _ in range(side - 16)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    return huge_label_png()


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def good_label_png() -> bytes:
    labels = np.zeros(SIZE, np.uint8)
    labels[2:8, 3:10] = 1
    labels[10:20, 5:9] = 2
    return png(labels)


def good_zip() -> bytes:
    first, second = np.zeros(SIZE, np.uint8), np.zeros(SIZE, np.uint8)
    first[2:8, 3:10], second[10:20, 5:9] = 255, 255
    return zip_of({"masks/mask_0000.png": png(first), "masks/mask_0001.png": png(second)})


def good_coco() -> bytes:
    return json.dumps(
        {
            "images": [{"id": 1, "height": SIZE[0], "width": SIZE[1], "file_name": "x.png"}],
            "annotations": [
                {"id": 1, "image_id": 1, "segmentation": [[3, 2, 10, 2, 10, 8, 3, 8]], "iscrowd": 0},
                {"id": 2, "image_id": 1, "segmentation": {"size": list(SIZE), "counts": [50, 10, 708]}},
            ],
        }
    ).encode()


GOOD_FILES = {"label map": good_label_png(), "mask ZIP": good_zip(), "COCO JSON": good_coco()}


def one_line(call) -> str:  # noqa: ANN001 - a zero-argument callable
    with pytest.raises(GroundTruthError) as error:
        call()
    message = str(error.value)
    assert message and "\n" not in message, message
    return message


def loads_or_one_line(data: bytes) -> GroundTruth | None:
    """The reader's only two outcomes on any bytes: ground truth of the image's size, or one line."""
    try:
        truth = load_ground_truth(data, SIZE, file_name="fuzzed")
    except GroundTruthError as error:
        assert str(error) and "\n" not in str(error), str(error)
        return None
    assert truth.image_size == SIZE and len(truth) >= 1
    return truth


def test_the_good_files_load() -> None:
    assert [len(load_ground_truth(data, SIZE)) for data in GOOD_FILES.values()] == [2, 2, 2]


# The three files of the issue


def test_a_20000_square_label_map_is_refused_from_its_header(huge_png: bytes) -> None:
    with pytest.raises(Image.DecompressionBombError):  # what Pillow alone does with it
        Image.open(io.BytesIO(huge_png))
    message = one_line(lambda: load_ground_truth(huge_png, SIZE, file_name="huge.png"))
    assert message == "huge.png: ground truth is 20000 x 20000 px, the image is 32 x 24 px"


def test_a_20000_square_png_inside_a_mask_zip_is_refused(huge_png: bytes) -> None:
    data = zip_of({"masks/mask_0000.png": huge_png})
    message = one_line(lambda: load_ground_truth(data, SIZE, file_name="masks.zip"))
    assert message == "masks.zip/masks/mask_0000.png: ground truth is 20000 x 20000 px, the image is 32 x 24 px"


def test_a_huge_png_of_the_right_size_is_still_one_line(huge_png: bytes) -> None:
    """Were the image itself that large, Pillow's bomb guard speaks, in one line."""
    message = one_line(lambda: load_ground_truth(huge_png, (HUGE_SIDE, HUGE_SIDE), file_name="huge.png"))
    assert message == "huge.png: the PNG is too large to decode safely"


def test_json_nested_100000_deep_is_refused() -> None:
    data = b"[" * 100_000 + b"]" * 100_000
    message = one_line(lambda: load_ground_truth(data, SIZE, file_name="deep.json"))
    assert message == "deep.json: JSON nested too deeply to read; COCO JSON is a few levels deep"
    nested_objects = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    assert "nested too deeply" in one_line(lambda: load_ground_truth(nested_objects, SIZE))


# The ZIP limits, stated in the module


def test_the_zip_limits_are_stated() -> None:
    assert ground_truth_module.MAX_ZIP_ENTRIES == 10_000
    assert ground_truth_module.MAX_ZIP_PIXELS == 4_000_000_000
    assert ground_truth_module.MAX_ZIP_BYTES == 1 << 30


def test_a_zip_with_too_many_entries_is_refused_before_anything_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ground_truth_module, "MAX_ZIP_ENTRIES", 50)
    data = zip_of({f"masks/mask_{i:04d}.png": b"" for i in range(51)})
    message = one_line(lambda: load_ground_truth(data, SIZE, file_name="many.zip"))
    assert message == "many.zip: the ZIP holds 51 entries, more than the 50 allowed"


def test_a_zip_over_the_pixel_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ground_truth_module, "MAX_ZIP_PIXELS", SIZE[0] * SIZE[1])  # one mask's worth
    message = one_line(lambda: load_ground_truth(good_zip(), SIZE, file_name="two.zip"))
    assert message.startswith("two.zip: 2 masks of 32 x 24 px are 1,536 pixels, more than the 768 allowed")


def test_a_zip_over_the_unpacked_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ground_truth_module, "MAX_ZIP_BYTES", 100)
    message = one_line(lambda: load_ground_truth(good_zip(), SIZE, file_name="big.zip"))
    assert message.startswith("big.zip: its PNGs unpack to") and "allowed" in message


# A corpus of broken files


def broken_corpus() -> dict[str, bytes]:
    label, archive, coco = GOOD_FILES["label map"], GOOD_FILES["mask ZIP"], GOOD_FILES["COCO JSON"]
    header_only = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 24, 8, 0, 0, 0, 0))
    return {
        "PNG signature only": b"\x89PNG\r\n\x1a\n",
        "PNG header, no pixels": header_only,
        "PNG cut in half": label[: len(label) // 2],
        "PNG with a wrong CRC": label[:30] + bytes([label[30] ^ 0xFF]) + label[31:],
        "PNG of zero width": b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 24, 8, 0, 0, 0, 0)),
        "ZIP cut in half": archive[: len(archive) // 2],
        "ZIP of a broken PNG": zip_of({"masks/mask_0000.png": label[:40]}),
        "ZIP of a text file": zip_of({"masks/mask_0000.png": b"not a png"}),
        "ZIP of nothing": zip_of({}),
        "ZIP inside a ZIP": zip_of({"inner.zip": archive}),
        "JSON cut in half": coco[: len(coco) // 2],
        "JSON null": b"null",
        "JSON list of numbers": b"[1, 2, 3]",
        "JSON with NaN sizes": coco.replace(b'"height": 24', b'"height": NaN'),
        "JSON with a huge polygon": coco.replace(b"[[3, 2, 10, 2", b"[[3e308, 2e308, 1e309, 2"),
        "JSON with RLE counts beyond the image": coco.replace(b"[50, 10, 708]", b"[50, 10, 7080000]"),
        "JSON with negative RLE counts": coco.replace(b"[50, 10, 708]", b"[-50, 10, 708]"),
        "JSON with a string RLE of garbage": coco.replace(b"[50, 10, 708]", b'"\\u00ff\\u0000garbage"'),
        "JSON with a size of 10^12": coco.replace(b'"height": 24', b'"height": 1000000000000'),
        "UTF-16 JSON": good_coco().decode().encode("utf-16"),
        "a JPEG": b"\xff\xd8\xff\xe0" + b"\x00" * 100,
        "random bytes": bytes(range(256)) * 4,
    }


@pytest.mark.parametrize("name", list(broken_corpus()))
def test_every_broken_file_of_the_corpus_gives_one_line(name: str) -> None:
    data = broken_corpus()[name]
    one_line(lambda: load_ground_truth(data, SIZE, file_name=name))


# Property-based: mutated good files and random structures


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(GOOD_FILES)),
    cut=st.integers(min_value=1, max_value=4000),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=4000), st.integers(1, 255)), max_size=6),
)
def test_mutated_good_files_load_or_give_one_line(kind: str, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD_FILES[kind][:cut])
    for position, mask in flips:
        if position < len(data):
            data[position] ^= mask
    loads_or_one_line(bytes(data))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
SEGMENTATIONS = st.one_of(
    JSON_VALUES,
    st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.integers(), max_size=10), max_size=3),
    st.fixed_dictionaries(
        {"size": st.lists(st.integers(-5, 100), max_size=3), "counts": JSON_VALUES | st.lists(st.integers())}
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    images=st.lists(
        st.fixed_dictionaries({"id": JSON_VALUES, "height": JSON_VALUES | st.just(SIZE[0]), "width": JSON_VALUES}),
        max_size=3,
    ),
    segmentations=st.lists(SEGMENTATIONS, max_size=4),
    extra=JSON_VALUES,
)
def test_coco_like_json_of_any_shape_loads_or_gives_one_line(images: list, segmentations: list, extra) -> None:  # noqa: ANN001
    annotations = [{"id": i, "image_id": 1, "segmentation": s} for i, s in enumerate(segmentations)]
    document = {"images": images, "annotations": [*annotations, extra], "extra": extra}
    loads_or_one_line(json.dumps(document).encode())


# The CLI, where the issue met them


@pytest.mark.parametrize("kind", ["huge png", "huge png in a zip", "deep json"])
def test_cli_evaluate_says_one_line_for_each_hostile_file(kind: str, huge_png: bytes, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / {"huge png": "labels.png", "huge png in a zip": "masks.zip", "deep json": "deep.json"}[kind]
    data = {
        "huge png": lambda: huge_png,
        "huge png in a zip": lambda: zip_of({"masks/mask_0000.png": huge_png}),
        "deep json": lambda: b"[" * 100_000 + b"]" * 100_000,
    }[kind]()
    path.write_bytes(data)
    code = main(["evaluate", str(HELDOUT_DIR / "scene_05.png"), "--gt", str(path), "--model", "demo"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
