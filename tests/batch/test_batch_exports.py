"""A batch writes the dataset formats per image (`--export`): COCO polygons per image, one YOLO dataset per setting."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from samcompare.batch import run_batch, write_outputs
from samcompare.cli import main
from samcompare.results.exports import read_coco, read_yolo_dataset
from samcompare.results.exports.formats import ExportOptions
from samcompare.results.exports.polygons import iou
from samcompare.results.labels import MaskLabels
from samcompare.store import ResultStore
from tests.batch.conftest import CONFIGS, SceneFolder, request_for, scene_pixels


@pytest.fixture(scope="module")
def exported(scene_folder: SceneFolder, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    out = tmp_path_factory.mktemp("batch-exports")
    exports = ExportOptions(("coco-polygons", "coco-rle", "yolo"))
    request = dataclasses.replace(request_for(scene_folder, out, exports=exports), configs=CONFIGS[:1])
    run_batch(request, echo=lambda _: None, progress=False)
    return out


def test_every_done_image_is_in_every_format(exported) -> None:  # noqa: ANN001
    store = ResultStore(exported / "samcompare.db")
    batch = store.batch_table(store.batches()[0][0])
    done = batch[batch["error"].isna()]
    assert len(done) == 6
    dataset = read_yolo_dataset(exported / "yolo" / "grid-8")
    assert sorted(dataset.images) == [f"scene_{i:02d}" for i in range(6)]
    assert dataset.names == ("object",)
    for row in done.itertuples():
        result = store.load_results(int(row.run_id))[0].result
        masks = list(result.masks())
        rle = read_coco((exported / "masks" / "grid-8" / f"{row.file_name}.json").read_bytes())
        polygons = read_coco((exported / "polygons" / "grid-8" / f"{row.file_name}.json").read_bytes())
        assert len(rle.annotations) == len(polygons.annotations) == len(masks)
        for a, b in zip(rle.annotations, polygons.annotations, strict=True):
            assert np.array_equal(a.mask, masks[a.raw["mask_id"]])
            assert iou(b.mask, masks[b.raw["mask_id"]]) >= 0.98
        stem = row.file_name.rsplit(".", 1)[0]
        np.testing.assert_array_equal(dataset.images[stem], scene_pixels(int(stem[-2:])))
        assert len(dataset.instances[stem]) == len(masks)


def test_class_names_in_the_store_reach_the_exports(exported, tmp_path) -> None:  # noqa: ANN001
    store = ResultStore(exported / "samcompare.db")
    batch_id = store.batches()[0][0]
    batch = store.batch_table(batch_id)
    row = batch[batch["file_name"] == "scene_02.png"].iloc[0]
    store.set_labels(int(row["result_id"]), MaskLabels.from_mapping({0: "triangle"}))
    names = sorted(batch["file_name"])
    write_outputs(store, batch_id, names, CONFIGS[:1], tmp_path, exports=ExportOptions(("coco-polygons", "yolo")))
    coco = json.loads((tmp_path / "polygons" / "grid-8" / "scene_02.png.json").read_text())
    assert [c["name"] for c in coco["categories"]] == ["object", "triangle"]
    assert read_yolo_dataset(tmp_path / "yolo" / "grid-8").names == ("object", "triangle")
    assert not (tmp_path / "masks").exists()  # only the formats asked for


def test_cli_batch_takes_export(scene_folder: SceneFolder, exported, capsys) -> None:  # noqa: ANN001
    """The same command again (all done) writes the formats it names, with the polygon options."""
    code = main(
        [
            "batch", str(scene_folder.path), "--config", str(scene_folder.settings[0]), "--model", "demo",
            "--device", "cpu", "--out", str(exported), "--export", "coco-polygons", "--polygon-tolerance", "2",
        ]
    )  # fmt: skip
    assert code == 0
    assert "polygons/" in capsys.readouterr().out
    written = json.loads((exported / "polygons" / "grid-8" / "scene_00.png.json").read_text())
    assert written["info"]["polygon_tolerance"] == 2.0
