"""What the engine needs to know about a model family (SAM, SAM 2): the one seam between it and the network.

A family builds and recognises its models, names its official generator and that generator's
parameters, embeds a crop, decodes a batch of prompt points into candidates, up-scales their
low-resolution logits, and says what a decoded candidate set depends on. Everything after the
decoder (the thresholds, NMS, the funnel, the sweep, the tuner) is shared by all families.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from samcompare.config import AmgConfig


@dataclass(frozen=True, eq=False)
class Embedding:
    """The image encoder's output for one crop, as the family's own predictor would hold it after `set_image`."""

    features: Any  # a tensor (SAM) or a dict of tensors (SAM 2), on the model's device
    input_size: tuple[int, int]  # the crop as resized for the encoder, before padding
    crop_size: tuple[int, int]  # (h, w) of the crop in the original image
    nbytes: int


@dataclass(frozen=True, eq=False)
class DecodedBatch:
    """One decoder batch's candidates, flattened point-major as the official generator flattens them."""

    low_res: torch.Tensor  # (N, h, w) float32 logits, exactly as the decoder returned them
    iou_preds: torch.Tensor  # (N,) float32
    points: torch.Tensor  # (N, 2) prompt points in the crop frame, in the dtype the official records carry
    outputs_per_point: int  # candidate i is output i % outputs_per_point of point i // outputs_per_point


class ModelFamily(ABC):
    """One family of promptable segmentation models and its official automatic mask generator."""

    name: str  # "sam", "sam2"
    label: str  # "SAM", "SAM 2.1"
    generator_name: str  # the official class, for messages and help: "SamAutomaticMaskGenerator"
    records_as_float32: bool = False  # its MaskData.to_numpy casts boxes, points and crop boxes to float32

    # --- models ------------------------------------------------------------------------------

    @abstractmethod
    def owns(self, model: torch.nn.Module) -> bool:
        """True when `model` is one of this family's models."""

    @abstractmethod
    def recognise(self, state_dict: Mapping[str, torch.Tensor]) -> str | None:
        """The model type whose weights these are (a key of `build`), or None when not this family's.

        Raises `ValueError` (saying why) for this family's weights of a size it does not know.
        """

    @abstractmethod
    def build(self, model_type: str) -> torch.nn.Module:
        """An empty model of `model_type` to load a state dict into."""

    def prepare(self, model: torch.nn.Module, model_type: str) -> torch.nn.Module:
        """The loaded model in the form it runs fastest in, with the same outputs (before `.to(device).eval()`)."""
        return model

    # --- the official generator ----------------------------------------------------------------

    @abstractmethod
    def official_generator(self, model: torch.nn.Module, config: AmgConfig) -> Any:
        """The family's own automatic mask generator for `config`: what the engine's results must equal."""

    # --- the network, as the official generator calls it ---------------------------------------

    @abstractmethod
    def embed(self, model: torch.nn.Module, image: np.ndarray, crop_box: list[int]) -> Embedding:
        """The crop's image embedding. Call under `torch.inference_mode()`."""

    @abstractmethod
    def decode(
        self, model: torch.nn.Module, embedding: Embedding, points: np.ndarray, config: AmgConfig
    ) -> DecodedBatch:
        """Decode one batch of prompt points (crop pixels, float64) into candidates. Under `inference_mode`."""

    @abstractmethod
    def upscale(
        self,
        model: torch.nn.Module,
        low_res: torch.Tensor,
        input_size: tuple[int, int],
        crop_size: tuple[int, int],
        config: AmgConfig,
    ) -> torch.Tensor:
        """Low-res logits (M, 1, h, w) to logits at the crop's size (M, 1, H, W), as the official post-processing."""

    @abstractmethod
    def mask_threshold(self, model: torch.nn.Module, config: AmgConfig) -> float:
        """The logit cut-off of masks and of the stability score."""

    @abstractmethod
    def decode_key(self, model: torch.nn.Module, config: AmgConfig) -> tuple[Any, ...]:
        """What a decoded candidate set depends on besides the crop, the point grid and the batch size."""

    def encoder_input_side(self, model: torch.nn.Module) -> int:
        """The side of the square the encoder sees (1024 for SAM): sizes the up-scaling's working memory."""
        encoder: Any = model.image_encoder
        return int(encoder.img_size)

    # --- after the decoder -----------------------------------------------------------------------

    def cleans_small_regions(self, config: AmgConfig) -> bool:
        """True when `min_mask_region_area` runs the official small-region clean-up after NMS."""
        return config.min_mask_region_area > 0

    def funnel_notes(self, model: torch.nn.Module, config: AmgConfig) -> tuple[str, ...]:
        """What the family's generator did to every candidate before the thresholds, in words (for the funnel)."""
        return ()
