"""A setting as a file: JSON to load back into samcompare, Python to run with segment_anything alone."""

from __future__ import annotations

from pathlib import Path

from samcompare.config import AmgConfig


def setting_json_bytes(config: AmgConfig) -> bytes:
    """`AmgConfig.to_json()` as UTF-8; `AmgConfig.from_json` reads it back."""
    return (config.to_json() + "\n").encode("utf-8")


def setting_code_bytes(config: AmgConfig, checkpoint: str = "sam_vit_h_4b8939.pth", model_type: str = "vit_h") -> bytes:
    """`AmgConfig.to_code()` as UTF-8: a script that reproduces the setting."""
    return config.to_code(checkpoint=checkpoint, model_type=model_type).encode("utf-8")


def write_setting_json(path: str | Path, config: AmgConfig) -> Path:
    target = Path(path)
    target.write_bytes(setting_json_bytes(config))
    return target


def write_setting_code(
    path: str | Path, config: AmgConfig, checkpoint: str = "sam_vit_h_4b8939.pth", model_type: str = "vit_h"
) -> Path:
    target = Path(path)
    target.write_bytes(setting_code_bytes(config, checkpoint, model_type))
    return target
