"""Pictures of runs: overlays, colour-mask images and the match picture; (image, run, options) -> RGB uint8.

Everything is blended in float32 and rounded once at the end, so overlapping masks can never wrap
around uint8 into wrong colours (the seed app's bug). Masks are painted largest first, so a small
mask lying on a large one stays visible on top. A mask's colour depends on its id alone, so it
keeps its colour in any subset or highlight view.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from samcompare.results.masks import RunLike, RunMasks, as_run_masks
from samcompare.results.matching import MatchReport

Colour = tuple[int, int, int]
GOLDEN_RATIO_CONJUGATE = 0.618033988749895

# The match picture: matched masks take greens and blues; masks found by one setting alone take
# two colours far from that family and from each other.
MATCHED_HUE_RANGE = (0.30, 0.62)  # green ... blue, as fractions of the hue circle
ONLY_IN_A_COLOUR: Colour = (255, 64, 0)  # orange-red
ONLY_IN_B_COLOUR: Colour = (255, 0, 255)  # magenta
MATCHED_LEGEND_COLOUR: Colour = (40, 200, 160)  # one representative of the matched family
LOOKUP_ROWS = 128  # image rows blended per step of the colour lookup


def mask_colour(mask_id: int) -> Colour:
    """A bright colour for a mask id; golden-ratio hue steps keep neighbouring ids far apart."""
    hue = (0.1 + mask_id * GOLDEN_RATIO_CONJUGATE) % 1.0
    value = 0.95 if mask_id % 2 == 0 else 0.8
    r, g, b = colorsys.hsv_to_rgb(hue, 0.8, value)
    return round(r * 255), round(g * 255), round(b * 255)


def matched_colour(pair_index: int) -> Colour:
    """Colour of the `pair_index`-th matched pair: distinct hues inside the green-blue family."""
    low, high = MATCHED_HUE_RANGE
    hue = low + ((pair_index * GOLDEN_RATIO_CONJUGATE) % 1.0) * (high - low)
    value = (0.95, 0.75, 0.85)[pair_index % 3]
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, value)
    return round(r * 255), round(g * 255), round(b * 255)


@dataclass(frozen=True)
class OverlayOptions:
    """How a run is drawn over its image."""

    opacity: float = 0.5  # weight of the mask colour over the image, 0..1
    outlines: bool = True
    outline_thickness: int = 1
    mask_ids: tuple[int, ...] | None = None  # draw only these masks (None: all)
    highlight_ids: tuple[int, ...] | None = None  # draw these at `opacity`, the others faint (None: no highlight)
    dimmed_opacity: float = 0.12  # opacity of the masks that are not highlighted

    def __post_init__(self) -> None:
        for name in ("mask_ids", "highlight_ids"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(int(v) for v in value))
        for name in ("opacity", "dimmed_opacity"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.outline_thickness < 1:
            raise ValueError(f"outline_thickness must be at least 1, got {self.outline_thickness}")


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 view of a grey, RGB or RGBA image."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {array.dtype}")
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return array[..., :3]
    raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {array.shape}")


def largest_first(masks: RunMasks, mask_ids: Iterable[int]) -> list[int]:
    """Drawing order: larger masks first, so smaller ones end on top; ties by id."""
    areas = masks.areas()
    return sorted(mask_ids, key=lambda mask_id: (-int(areas[mask_id]), mask_id))


def _box_contours(crop: np.ndarray, x: int, y: int) -> Sequence[np.ndarray]:
    """Outer and hole contours of the part of a mask inside its box, whose corner is (x, y), in image coordinates.

    Traced inside the box only: much faster than on the whole image for a small mask.

    A mask decoded from column-major RLE is laid out column by column: it is traced transposed
    (the same border pixels, read without a strided copy) and the points are swapped back.
    """
    if crop.strides[0] >= crop.strides[1]:  # laid out row by row
        contours, _ = cv2.findContours(
            np.ascontiguousarray(crop, dtype=np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE, offset=(x, y)
        )
        return list(contours)
    contours, _ = cv2.findContours(
        np.ascontiguousarray(crop.T, dtype=np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE, offset=(y, x)
    )
    return [np.ascontiguousarray(contour[..., ::-1]) for contour in contours]


@dataclass(frozen=True)
class _Layer:
    """Masks painted alike: ids in drawing order, one colour each, one opacity; outlines at full strength."""

    mask_ids: list[int]
    colours: list[Colour]
    opacity: float
    outlined: bool


def _paint(image_rgb: np.ndarray, masks: RunMasks, layers: Sequence[_Layer], outline_thickness: int = 1) -> np.ndarray:
    """Blend the layers' masks over the image in float, later masks over earlier ones; then outlines.

    Each pixel shows the last mask painted on it, so the masks are first drawn as numbers into one
    label map (each inside its exact box: a small mask on a large image costs its own size); the
    blend of each mask with each grey level is then worked out once, in float32, and looked up.
    """
    painted = sum(len(layer.mask_ids) for layer in layers)
    # 0: no mask; k: the k-th mask painted. Narrow enough that label * 256 + grey fits the same type.
    # The map is built transposed: masks decode from column-major RLE, column by column.
    label_t = np.zeros(masks.image_shape[::-1], dtype=np.uint16 if painted < 256 else np.int32)
    colours: list[Colour] = [(0, 0, 0)]
    opacities: list[float] = [0.0]
    boxes = masks.boxes()
    outlines: list[tuple[Sequence[np.ndarray], Colour]] = []  # traced while each mask is decoded anyway
    for layer in layers:
        for mask_id, mask_colour_ in zip(layer.mask_ids, layer.colours, strict=True):
            x, y, w, h = (int(v) for v in boxes[mask_id])
            if w == 0 or h == 0:
                continue  # an empty mask paints nothing
            inside = masks.mask_in_box(mask_id, boxes[mask_id])  # the mask lies inside its box
            np.copyto(label_t[x : x + w, y : y + h], len(colours), where=inside.T)
            colours.append(mask_colour_)
            opacities.append(layer.opacity)
            if layer.outlined:
                outlines.append((_box_contours(inside, x, y), mask_colour_))
    # Every (mask, grey level) pair blended once in a table, then looked up per pixel and channel.
    levels = np.arange(256, dtype=np.float32)[None, :]
    weight = np.asarray(opacities, dtype=np.float32)[:, None]
    palette = np.asarray(colours, dtype=np.float32)
    tables = [
        np.clip(np.rint(levels * (1.0 - weight) + palette[:, channel : channel + 1] * weight), 0, 255)
        .astype(np.uint8)
        .ravel()
        for channel in range(3)
    ]
    label: np.ndarray = cv2.transpose(label_t)  # back to row by row, as the image
    canvas = np.empty_like(image_rgb)
    for top in range(0, label.shape[0], LOOKUP_ROWS):  # a band at a time: its indices stay in the CPU's cache
        band = slice(top, top + LOOKUP_ROWS)
        rows = label[band] << 8
        for channel, table in enumerate(tables):
            np.take(table, rows | image_rgb[band, :, channel], out=canvas[band, :, channel])
    for contours, outline_colour in outlines:
        cv2.drawContours(canvas, contours, -1, outline_colour, outline_thickness)
    return canvas


def overlay(image: np.ndarray, run: RunLike, options: OverlayOptions | None = None) -> np.ndarray:
    """The run's masks in their colours over the image (with outlines); highlighted ids stand out."""
    options = options or OverlayOptions()
    image_rgb = as_rgb(image)
    masks = as_run_masks(run, image_rgb.shape)
    shown = masks.check_ids(options.mask_ids)
    if options.highlight_ids is None:
        ordered = largest_first(masks, shown)
        layers = [_Layer(ordered, [mask_colour(i) for i in ordered], options.opacity, options.outlines)]
    else:
        # Highlighted masks go on top of the faint ones, and only they get outlines.
        highlight = set(masks.check_ids(options.highlight_ids))
        faint = largest_first(masks, [i for i in shown if i not in highlight])
        bright = largest_first(masks, [i for i in shown if i in highlight])
        layers = [
            _Layer(faint, [mask_colour(i) for i in faint], options.dimmed_opacity, False),
            _Layer(bright, [mask_colour(i) for i in bright], options.opacity, options.outlines),
        ]
    return _paint(image_rgb, masks, layers, options.outline_thickness)


def colour_mask_image(
    run: RunLike, image_shape: tuple[int, ...] | None = None, mask_ids: Sequence[int] | None = None
) -> np.ndarray:
    """Each mask in its colour on black, smaller masks on top (the seed app's third picture)."""
    masks = as_run_masks(run, image_shape)
    picture = np.zeros((*masks.image_shape, 3), dtype=np.uint8)
    for mask_id in largest_first(masks, masks.check_ids(mask_ids)):
        picture[masks.mask(mask_id)] = mask_colour(mask_id)
    return picture


def three_views(
    image: np.ndarray, run: RunLike, options: OverlayOptions | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The seed app's pictures: original, overlay, colour-mask image."""
    image_rgb = as_rgb(image)
    masks = as_run_masks(run, image_rgb.shape)
    options = options or OverlayOptions()
    return image_rgb.copy(), overlay(image_rgb, masks, options), colour_mask_image(masks, mask_ids=options.mask_ids)


def match_legend(report: MatchReport) -> list[tuple[str, Colour]]:
    """(label, colour) of the match picture's three kinds of mask, for a legend beside or under it."""
    return [
        (f"matched ({report.matched_count})", MATCHED_LEGEND_COLOUR),
        (f"only in {report.setting_a} ({len(report.only_in_a)})", ONLY_IN_A_COLOUR),
        (f"only in {report.setting_b} ({len(report.only_in_b)})", ONLY_IN_B_COLOUR),
    ]


def _legend_band(width: int, entries: list[tuple[str, Colour]]) -> np.ndarray:
    line_height = 18
    band = np.full((line_height * len(entries) + 4, width, 3), 255, dtype=np.uint8)
    for row, (label, colour) in enumerate(entries):
        top = 2 + row * line_height
        cv2.rectangle(band, (4, top + 3), (16, top + 15), colour, -1)
        cv2.putText(band, label, (22, top + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return band


def match_picture(
    image: np.ndarray,
    run_a: RunLike,
    run_b: RunLike,
    report: MatchReport,
    opacity: float = 0.5,
    outlines: bool = True,
    legend: bool = False,
    only_in_a_outlined: bool = False,
) -> np.ndarray:
    """Matched pairs (union of both masks) in greens and blues; masks only in A orange-red, only in B magenta.

    Unmatched masks are drawn on top, so the differences between settings stand out. With
    `only_in_a_outlined`, masks only in A are drawn beneath everything as outlines alone: a large
    one (a whole-image background mask) then hides nothing. With `legend`, a white band under the
    picture names the three colours (see `match_legend`; pages draw a real legend instead).
    """
    image_rgb = as_rgb(image)
    masks_a = as_run_masks(run_a, image_rgb.shape)
    masks_b = as_run_masks(run_b, image_rgb.shape)
    # One mask list for drawing: B's ids are shifted past A's; a matched pair is drawn as its union.
    union_records = []
    for pair in report.pairs:
        union = masks_a.mask(pair.a_id) | masks_b.mask(pair.b_id)
        union_records.append({"segmentation": union})
    offset_a = len(union_records)
    union_records += [{"segmentation": masks_a.records[i]["segmentation"]} for i in report.only_in_a]
    offset_b = len(union_records)
    union_records += [{"segmentation": masks_b.records[i]["segmentation"]} for i in report.only_in_b]
    combined = RunMasks(union_records, image_rgb.shape)
    matched_ids = largest_first(combined, range(offset_a))
    a_ids = largest_first(combined, range(offset_a, offset_b))
    b_ids = largest_first(combined, range(offset_b, len(union_records)))
    unmatched_opacity = max(opacity, 0.6)  # differences are what this picture is for
    matched = _Layer(matched_ids, [matched_colour(i) for i in matched_ids], opacity, outlines)
    only_b = _Layer(b_ids, [ONLY_IN_B_COLOUR] * len(b_ids), unmatched_opacity, outlines)
    if only_in_a_outlined:
        layers = [_Layer(a_ids, [ONLY_IN_A_COLOUR] * len(a_ids), 0.0, True), matched, only_b]
    else:
        layers = [matched, _Layer(a_ids, [ONLY_IN_A_COLOUR] * len(a_ids), unmatched_opacity, outlines), only_b]
    picture = _paint(image_rgb, combined, layers)
    if legend:
        picture = np.concatenate([picture, _legend_band(picture.shape[1], match_legend(report))], axis=0)
    return picture
