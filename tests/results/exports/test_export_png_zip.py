import io
import zipfile

import numpy as np

from samcompare.results.exports.png import read_png
from samcompare.results.exports.png_zip import masks_zip_bytes, read_masks_zip, write_masks_zip
from samcompare.results.pictures import OverlayOptions, overlay


def test_zip_round_trips_every_mask_with_overlay_and_csv(scene_image, scene_masks, make_records):
    records = make_records(scene_masks, "coco_rle")
    data = masks_zip_bytes(scene_image, records)
    masks, table = read_masks_zip(data)
    assert sorted(masks) == list(range(len(scene_masks)))
    for mask_id, expected in enumerate(scene_masks):
        assert np.array_equal(masks[mask_id], expected)
    assert table["file"].tolist()[0] == "masks/mask_0000.png"
    assert table["area"].tolist() == [int(m.sum()) for m in scene_masks]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        stored = read_png(archive.read("overlay.png"))
        single = read_png(archive.read("masks/mask_0001.png"))
    assert np.array_equal(stored, overlay(scene_image, records))
    assert set(np.unique(single)) <= {0, 255}


def test_zip_of_a_subset_keeps_mask_ids(tmp_path, scene_image, scene_masks, make_records):
    records = make_records(scene_masks)
    path = write_masks_zip(
        tmp_path / "subset.zip", scene_image, records, mask_ids=[4, 2], overlay_options=OverlayOptions()
    )
    masks, table = read_masks_zip(path.read_bytes())
    assert sorted(masks) == [2, 4] and table["id"].tolist() == [4, 2]
    assert np.array_equal(masks[4], scene_masks[4])
    with zipfile.ZipFile(path) as archive:
        stored = read_png(archive.read("overlay.png"))
    assert np.array_equal(stored, overlay(scene_image, records, OverlayOptions(mask_ids=(4, 2))))
