"""What the whole Streamlit process shares: loaded models and the engine's comparison cache.

A model is loaded once per (name, device) and only read afterwards, so sessions can share it. The
engine's `ComparisonCache` is thread-safe and keyed by the image's content hash and the model, so
sharing it lets two sessions with the same image reuse work without ever seeing each other's results.
"""

from __future__ import annotations

import streamlit as st
from segment_anything.modeling import Sam

from samcompare.engine import ComparisonCache
from samcompare.models import MODEL_CATALOGUE, available_models, load_model, resolve_device

SHARED_CACHE_BYTES = 1 << 30


@st.cache_resource(show_spinner="Loading the model (once per process)…", max_entries=3)
def cached_model(name: str, device: str) -> Sam:
    """The model `name` on `device`; raises `ModelLoadError` (not cached) when it cannot be loaded."""
    return load_model(name, device)


@st.cache_resource(show_spinner=False)
def shared_comparison_cache() -> ComparisonCache:
    return ComparisonCache(max_bytes=SHARED_CACHE_BYTES)


def device_name() -> str:
    return str(resolve_device())


def model_choices() -> list[str]:
    """Official checkpoints found on disk, best first, then the demo model."""
    return available_models()


SHORT_NAMES = {"vit_h": "SAM ViT-H", "vit_l": "SAM ViT-L", "vit_b": "SAM ViT-B", "demo": "Demo SAM (shapes only)"}


def model_caption(name: str) -> str:
    return SHORT_NAMES.get(name, name)


def model_description(name: str) -> str:
    spec = MODEL_CATALOGUE.get(name)
    return "" if spec is None else spec.description


def is_demo(name: str) -> bool:
    spec = MODEL_CATALOGUE.get(name)
    return spec is not None and spec.is_demo
