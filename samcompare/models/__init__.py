"""Model catalogue, loading and checkpoint downloads."""

from samcompare.models.catalogue import MODEL_CATALOGUE, ModelSpec, available_models, default_model
from samcompare.models.loading import ModelLoadError, infer_model_type, load_model, resolve_device

__all__ = [
    "MODEL_CATALOGUE",
    "ModelLoadError",
    "ModelSpec",
    "available_models",
    "default_model",
    "infer_model_type",
    "load_model",
    "resolve_device",
]
