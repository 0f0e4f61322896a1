"""A setting as a file: JSON to load back into samcompare, Python to run with its family's official generator."""

from __future__ import annotations

from pathlib import Path

from samcompare.config import AmgConfig


def setting_json_bytes(config: AmgConfig) -> bytes:
    """`AmgConfig.to_json()` as UTF-8; `AmgConfig.from_json` reads it back."""
    return (config.to_json() + "\n").encode("utf-8")


def setting_code_bytes(config: AmgConfig, model: str | None = None) -> bytes:
    """`AmgConfig.to_code(model)` as UTF-8: a script that reproduces the setting on `model` (default: its own)."""
    return config.to_code(model).encode("utf-8")


def write_setting_json(path: str | Path, config: AmgConfig) -> Path:
    target = Path(path)
    target.write_bytes(setting_json_bytes(config))
    return target


def write_setting_code(path: str | Path, config: AmgConfig, model: str | None = None) -> Path:
    target = Path(path)
    target.write_bytes(setting_code_bytes(config, model))
    return target
