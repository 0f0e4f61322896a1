import numpy as np
import pytest

from samcompare.config import AmgConfig
from samcompare.results.matching import match_masks
from samcompare.results.pictures import (
    ONLY_IN_A_COLOUR,
    ONLY_IN_B_COLOUR,
    OverlayOptions,
    colour_mask_image,
    mask_colour,
    match_legend,
    match_picture,
    matched_colour,
    overlay,
    three_views,
)


def _blend(pixel, colour, opacity):
    return np.rint(np.asarray(pixel, float) * (1 - opacity) + np.asarray(colour, float) * opacity)


def _overlay_by_the_book(image, masks, options):
    """The overlay as first written: whole-image float canvases, mask by mask, rounded once; the reference."""
    import cv2

    from samcompare.results.masks import as_run_masks
    from samcompare.results.pictures import largest_first

    run = as_run_masks(masks, image.shape)
    shown = run.check_ids(options.mask_ids)
    if options.highlight_ids is None:
        layers = [(largest_first(run, shown), options.opacity, options.outlines)]
    else:
        bright = set(options.highlight_ids)
        layers = [
            (largest_first(run, [i for i in shown if i not in bright]), options.dimmed_opacity, False),
            (largest_first(run, [i for i in shown if i in bright]), options.opacity, options.outlines),
        ]
    colour = np.zeros(image.shape, np.float32)
    alpha = np.zeros(image.shape[:2], np.float32)
    outlines = []
    for ids, opacity, outlined in layers:
        for mask_id in ids:
            mask = run.mask(mask_id)
            colour[mask] = mask_colour(mask_id)
            alpha[mask] = opacity
            if outlined:
                whole = np.ascontiguousarray(mask, dtype=np.uint8)  # traced on the whole image, row by row
                contours = cv2.findContours(whole, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)[0]
                outlines.append((contours, mask_colour(mask_id)))
    weight = alpha[..., None]
    canvas = image.astype(np.float32)
    canvas *= 1.0 - weight
    canvas += colour * weight
    for contours, outline_colour in outlines:
        cv2.drawContours(canvas, contours, -1, tuple(float(c) for c in outline_colour), options.outline_thickness)
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "options",
    [
        OverlayOptions(),
        OverlayOptions(opacity=0.37, outlines=False),
        OverlayOptions(opacity=1.0, outline_thickness=3),
        OverlayOptions(opacity=0.6, highlight_ids=(0, 2), dimmed_opacity=0.1),
        OverlayOptions(opacity=0.45, mask_ids=(1, 2, 3), highlight_ids=(3,)),
    ],
)
def test_overlay_equals_the_plain_float_blend_it_speeds_up(
    scene_image, scene_masks, make_records, make_run_result, options
):
    noisy = np.random.default_rng(3).integers(0, 256, scene_image.shape, dtype=np.uint8)  # every grey level
    # Records decode whole masks; the engine's result decodes each mask's box from its counts.
    for run in (make_records(scene_masks, "coco_rle"), make_run_result(scene_masks, AmgConfig())):
        for image in (scene_image, noisy):
            assert np.array_equal(overlay(image, run, options), _overlay_by_the_book(image, run, options))


def test_overlay_of_more_masks_than_a_byte_counts_equals_the_plain_float_blend(make_run_result):
    """From 256 masks on, the label map needs more than 16 bits for label * 256 + grey."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    masks = []
    for _ in range(300):
        mask = np.zeros((48, 40), bool)
        y, x = rng.integers(0, 44), rng.integers(0, 36)
        mask[y : y + rng.integers(1, 5), x : x + rng.integers(1, 5)] = True
        masks.append(mask)
    run = make_run_result(masks, AmgConfig())
    for options in (OverlayOptions(opacity=0.7, outlines=False), OverlayOptions(opacity=0.3)):
        assert np.array_equal(overlay(image, run, options), _overlay_by_the_book(image, run, options))


def test_colours_are_stable_and_distinct():
    colours = [mask_colour(i) for i in range(24)]
    assert colours == [mask_colour(i) for i in range(24)]
    assert len(set(colours)) == 24
    for i in range(23):
        assert np.abs(np.subtract(colours[i], colours[i + 1])).sum() > 60
    for i in range(12):
        r, g, b = matched_colour(i)
        assert max(g, b) > r  # green-blue family, never red


def test_overlay_blends_in_float_and_small_masks_stay_on_top(scene_image, scene_masks, make_records):
    records = make_records(scene_masks, "coco_rle")
    square_id = len(scene_masks) - 1  # 5x5 square lying on the largest object (and on the union mask)
    picture = overlay(scene_image, records, OverlayOptions(opacity=0.4, outlines=False))
    assert picture.dtype == np.uint8 and picture.shape == scene_image.shape
    outside = ~np.any(np.stack(scene_masks), axis=0)
    assert np.array_equal(picture[outside], scene_image[outside])
    ys, xs = np.nonzero(scene_masks[square_id])
    y, x = ys[len(ys) // 2], xs[len(xs) // 2]
    assert np.array_equal(picture[y, x], _blend(scene_image[y, x], mask_colour(square_id), 0.4))
    # Many masks stacked on one pixel at full opacity: exactly the top colour, no uint8 wrap-around.
    full = overlay(scene_image, records, OverlayOptions(opacity=1.0, outlines=False))
    assert tuple(full[y, x]) == mask_colour(square_id)
    colours = colour_mask_image(records)
    assert tuple(colours[y, x]) == mask_colour(square_id)
    assert not colours[outside].any()


def test_subset_highlight_and_outlines(scene_image, scene_masks, make_records):
    records = make_records(scene_masks)
    none = overlay(scene_image, records, OverlayOptions(opacity=0.0, outlines=False))
    assert np.array_equal(none, scene_image)
    subset = overlay(scene_image, records, OverlayOptions(outlines=False, mask_ids=[0]))
    others = np.any(np.stack(scene_masks[1:]), axis=0) & ~scene_masks[0]
    assert np.array_equal(subset[others], scene_image[others])
    highlighted = overlay(scene_image, records, OverlayOptions(outlines=False, opacity=0.6, highlight_ids=[0]))
    only_zero = scene_masks[0] & ~np.any(np.stack(scene_masks[1:]), axis=0)
    dim_pixels = others
    change_zero = np.abs(highlighted[only_zero].astype(int) - scene_image[only_zero]).mean()
    change_dim = np.abs(highlighted[dim_pixels].astype(int) - scene_image[dim_pixels]).mean()
    assert change_zero > 2 * change_dim > 0
    outlined = overlay(scene_image, records, OverlayOptions(opacity=0.0, outlines=True, outline_thickness=1))
    changed = np.any(outlined != scene_image, axis=2)
    assert changed.any() and changed.sum() < np.any(np.stack(scene_masks), axis=0).sum()
    with pytest.raises(ValueError):
        OverlayOptions(opacity=1.5)


def test_three_views_of_grey_image(scene_image, scene_masks, make_records):
    grey = scene_image[..., 0]
    original, over, colours = three_views(grey, make_records(scene_masks, "uncompressed_rle"))
    assert original.shape == over.shape == colours.shape == (*grey.shape, 3)
    assert np.array_equal(original[..., 1], grey)


def test_match_picture_colours_the_three_kinds(scene_image, scene_masks, make_records):
    a = make_records(scene_masks[:-1])  # without the small square
    b = make_records([scene_masks[-1], *scene_masks[1:-1]])  # without mask 0, with the square
    report = match_masks(a, b)
    assert report.only_in_a == (0,) and report.only_in_b == (0,)
    picture = match_picture(scene_image, a, b, report, opacity=0.5, outlines=False)
    ys, xs = np.nonzero(scene_masks[-1])
    y, x = ys[len(ys) // 2], xs[len(xs) // 2]
    assert np.array_equal(picture[y, x], _blend(scene_image[y, x], ONLY_IN_B_COLOUR, 0.6))
    only_a = scene_masks[0] & ~np.any(np.stack(scene_masks[1:]), axis=0)
    y, x = np.argwhere(only_a)[0]
    assert np.array_equal(picture[y, x], _blend(scene_image[y, x], ONLY_IN_A_COLOUR, 0.6))
    with_legend = match_picture(scene_image, a, b, report, legend=True)
    assert with_legend.shape[0] > scene_image.shape[0] and with_legend.shape[1] == scene_image.shape[1]
    labels = [label for label, _ in match_legend(report)]
    assert labels[0].startswith("matched") and "only in A (1)" in labels[1]
