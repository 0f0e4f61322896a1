"""Which models exist: one table of small frozen records, like `sam_model_registry`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WEIGHTS_DIR = REPO_ROOT / "weights"
WEIGHTS_DIR_VARIABLE = "SAMCOMPARE_WEIGHTS"
DEMO_CHECKPOINT = Path(__file__).resolve().parents[1] / "demo" / "assets" / "sam_demo.pth"


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what users type: "vit_h", "demo", ...
    model_type: str  # key of the builder: segment_anything's registry, or "demo"
    filename: str
    url: str | None  # None: not downloadable (ships with the repo)
    sha256: str | None
    size_bytes: int | None
    description: str

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
        ),
        ModelSpec(
            name="vit_l",
            model_type="vit_l",
            filename="sam_vit_l_0b3195.pth",
            url=OFFICIAL_BASE_URL + "sam_vit_l_0b3195.pth",
            sha256="3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
            size_bytes=1_249_524_607,
            description="SAM ViT-L (308M parameters), close to ViT-H",
        ),
        ModelSpec(
            name="vit_b",
            model_type="vit_b",
            filename="sam_vit_b_01ec64.pth",
            url=OFFICIAL_BASE_URL + "sam_vit_b_01ec64.pth",
            sha256="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
            size_bytes=375_042_383,
            description="SAM ViT-B (91M parameters), the fastest official model",
        ),
        ModelSpec(
            name="demo",
            model_type="demo",
            filename="sam_demo.pth",
            url=None,
            sha256=None,
            size_bytes=None,
            description="Demo SAM (1.4M parameters) trained on synthetic shapes: knows only simple shapes",
        ),
    )
}

OFFICIAL_MODELS = tuple(name for name, spec in MODEL_CATALOGUE.items() if not spec.is_demo)


def weights_dir() -> Path:
    """Where official checkpoints live: $SAMCOMPARE_WEIGHTS, else the repo's weights/."""
    override = os.environ.get(WEIGHTS_DIR_VARIABLE)
    return Path(override).expanduser() if override else DEFAULT_WEIGHTS_DIR


def checkpoint_path(name: str) -> Path:
    spec = MODEL_CATALOGUE[name]
    return DEMO_CHECKPOINT if spec.is_demo else weights_dir() / spec.filename


def available_models() -> list[str]:
    """Official models whose checkpoint is present, best first, then the demo model."""
    present = [name for name in OFFICIAL_MODELS if checkpoint_path(name).is_file()]
    return present + ["demo"]


def default_model() -> str:
    return available_models()[0]


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
