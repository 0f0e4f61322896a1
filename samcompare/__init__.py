"""samcompare: run several settings of SAM's automatic mask generator on one image and compare them.

The core package: no Streamlit here, so notebooks, the CLI and the dashboard share it.
"""

from samcompare.config import PRESETS, AmgConfig, ConfigError
from samcompare.models import ModelLoadError, available_models, default_model, load_model

__all__ = [
    "PRESETS",
    "AmgConfig",
    "ConfigError",
    "ModelLoadError",
    "available_models",
    "default_model",
    "load_model",
]
