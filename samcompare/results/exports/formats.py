"""The dataset formats by the names the command line takes, and how they are made (`--export LIST`)."""

from __future__ import annotations

from dataclasses import dataclass

from samcompare.results.exports.polygons import DEFAULT_TOLERANCE, HOLE_STYLES, HOLES_BRIDGED, HoleStyle

COCO_RLE = "coco-rle"
COCO_POLYGONS = "coco-polygons"
YOLO = "yolo"
EXPORT_NAMES = (COCO_POLYGONS, COCO_RLE, YOLO)
DEFAULT_EXPORTS = (COCO_RLE,)


def parse_export_names(text: str) -> tuple[str, ...]:
    """`coco-polygons,yolo` -> the names, in the order given, each once; a `ValueError` names an unknown one."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    if not names:
        raise ValueError(f"give one or more of {', '.join(EXPORT_NAMES)}")
    unknown = [name for name in names if name not in EXPORT_NAMES]
    if unknown:
        raise ValueError(f"unknown export {unknown[0]!r}; choose from {', '.join(EXPORT_NAMES)}")
    return names


@dataclass(frozen=True)
class ExportOptions:
    """Which dataset formats to write, and how polygons are made."""

    names: tuple[str, ...] = DEFAULT_EXPORTS
    polygon_tolerance: float = DEFAULT_TOLERANCE
    polygon_holes: HoleStyle = HOLES_BRIDGED

    def __post_init__(self) -> None:
        unknown = [name for name in self.names if name not in EXPORT_NAMES]
        if unknown:
            raise ValueError(f"unknown export {unknown[0]!r}; choose from {', '.join(EXPORT_NAMES)}")
        if not self.polygon_tolerance >= 0:
            raise ValueError(f"the polygon tolerance must be at least 0 px, got {self.polygon_tolerance}")
        if self.polygon_holes not in HOLE_STYLES:
            raise ValueError(f"polygon holes must be one of {', '.join(HOLE_STYLES)}, got {self.polygon_holes!r}")
