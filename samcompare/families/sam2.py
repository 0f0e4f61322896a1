"""SAM 2.1 (the `sam2` package): Hiera tiny / small / base+ / large, and `SAM2AutomaticMaskGenerator`.

How SAM 2's generator differs from SAM's, each mirrored here step for step:
- the image is resized to 1024 x 1024 (no padding, aspect not kept), and the decoder also takes
  the encoder's high-resolution features;
- `mask_threshold` is the generator's setting (stability score and binarisation), not the model's;
- `multimask_output=False` decodes one mask per point;
- `use_m2m` decodes every candidate a second time with its own low-res logits as the mask input
  (single-mask output), before any threshold, and keeps the second pass's masks and scores;
- `min_mask_region_area` never runs the small-region clean-up after NMS (`generate` does not
  call `postprocess_small_regions`). It becomes the predictor's `max_hole_area` and
  `max_sprinkle_area`: holes and islands of at most that many pixels *of the 256 x 256 low-res
  logits* are flipped before up-scaling, by the CUDA extension `sam2._C`. Where that extension is
  not built (or cannot run on the device) the official code warns and skips it, and so does this
  (`small_regions_on_logits` says which).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from segment_anything.utils.amg import batch_iterator

from samcompare.families.base import DecodedBatch, Embedding, ModelFamily

if TYPE_CHECKING:
    from samcompare.config import AmgConfig


@dataclass(frozen=True)
class Sam2Size:
    model_type: str  # the config's stem: "sam2.1_hiera_t"
    config_file: str  # for `sam2.build_sam.build_sam2`
    embed_dim: int  # Hiera's first stage width
    blocks: int  # Hiera blocks over all stages


SIZES = {
    size.model_type: size
    for size in (
        Sam2Size("sam2.1_hiera_t", "configs/sam2.1/sam2.1_hiera_t.yaml", 96, 12),
        Sam2Size("sam2.1_hiera_s", "configs/sam2.1/sam2.1_hiera_s.yaml", 96, 16),
        Sam2Size("sam2.1_hiera_b+", "configs/sam2.1/sam2.1_hiera_b+.yaml", 112, 24),
        Sam2Size("sam2.1_hiera_l", "configs/sam2.1/sam2.1_hiera_l.yaml", 144, 48),
    )
}
PATCH_KEY = "image_encoder.trunk.patch_embed.proj.weight"
DECODER_KEY = "sam_mask_decoder.iou_token.weight"


def sam2_available() -> bool:
    try:
        import sam2  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=16)
def _transforms(resolution: int, max_area: int) -> Any:
    """SAM2ImagePredictor's transforms (pure, stateless: safe to share), as the generator configures them."""
    from sam2.utils.transforms import SAM2Transforms

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch's "jit.script is deprecated", inside sam2
        return SAM2Transforms(
            resolution=resolution, mask_threshold=0.0, max_hole_area=max_area, max_sprinkle_area=max_area
        )


@functools.lru_cache(maxsize=8)
def small_regions_on_logits(device: str) -> bool:
    """Whether `sam2._C` fills holes and removes sprinkles on this device, as the official post-processing tries."""
    try:
        from sam2.utils.misc import get_connected_components

        get_connected_components(torch.zeros((1, 1, 4, 4), dtype=torch.bool, device=device))
    except Exception:  # noqa: BLE001 - exactly the official code's test: any failure means "skipped"
        return False
    return True


class Sam2Family(ModelFamily):
    name = "sam2"
    label = "SAM 2.1"
    generator_name = "SAM2AutomaticMaskGenerator"
    records_as_float32 = True  # sam2.utils.amg.MaskData.to_numpy: `v.float()` before numpy

    def owns(self, model: torch.nn.Module) -> bool:
        if not sam2_available():
            return False
        from sam2.modeling.sam2_base import SAM2Base

        return isinstance(model, SAM2Base)

    def recognise(self, state_dict: Mapping[str, torch.Tensor]) -> str | None:
        patch = state_dict.get(PATCH_KEY)
        if patch is None or DECODER_KEY not in state_dict:
            return None
        blocks = len({name.split(".")[3] for name in state_dict if name.startswith("image_encoder.trunk.blocks.")})
        for size in SIZES.values():
            if size.embed_dim == int(patch.shape[0]) and size.blocks == blocks:
                return size.model_type
        raise ValueError(
            f"a SAM 2 checkpoint of an unknown size (Hiera width {int(patch.shape[0])}, {blocks} blocks); "
            "samcompare loads SAM 2.1 hiera tiny, small, base+ and large"
        )

    def build(self, model_type: str) -> torch.nn.Module:
        """The model as `build_sam2(config, ckpt_path=None)` builds it, with the official post-processing options."""
        if not sam2_available():
            raise ValueError("SAM 2 models need the sam2 package: SAM2_BUILD_CUDA=0 pip install sam2==1.1.0")
        from sam2.build_sam import build_sam2

        return build_sam2(SIZES[model_type].config_file, ckpt_path=None, device="cpu", mode="eval")

    def official_generator(self, model: torch.nn.Module, config: AmgConfig) -> Any:
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

        return SAM2AutomaticMaskGenerator(model, **config.to_kwargs(self.name))

    def embed(self, model: torch.nn.Module, image: np.ndarray, crop_box: list[int]) -> Embedding:
        """`SAM2ImagePredictor.set_image(image[crop])` itself: a fresh predictor, so no state is shared."""
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        x0, y0, x1, y1 = crop_box
        cropped = image[y0:y1, x0:x1, :]
        if not cropped.flags.writeable:  # torchvision's to_tensor warns on a read-only array (the app's are)
            cropped = cropped.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch's "jit.script is deprecated", inside sam2
            predictor = SAM2ImagePredictor(model)
        predictor.set_image(cropped)
        features = predictor._features
        assert features is not None
        predictor.reset_predictor()
        tensors = [features["image_embed"], *features["high_res_feats"]]
        nbytes = sum(t.element_size() * t.nelement() for t in tensors) + 512
        size = int(model.image_size)  # type: ignore[arg-type]
        h, w = cropped.shape[:2]
        return Embedding(features, (size, size), (int(h), int(w)), nbytes)

    def _predict(
        self,
        model: Any,
        embedding: Embedding,
        in_points: torch.Tensor,
        multimask_output: bool,
        mask_input: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`SAM2ImagePredictor._predict` up to the decoder: low-res logits (unclamped) and IoU predictions."""
        in_labels = torch.ones(in_points.shape[0], dtype=torch.int, device=in_points.device)
        concat_points = (in_points[:, None, :], in_labels[:, None])
        sparse, dense = model.sam_prompt_encoder(points=concat_points, boxes=None, masks=mask_input)
        batched_mode = concat_points[0].shape[0] > 1
        features = embedding.features
        high_res_features = [level[-1].unsqueeze(0) for level in features["high_res_feats"]]
        low_res, iou_predictions, _, _ = model.sam_mask_decoder(
            image_embeddings=features["image_embed"][-1].unsqueeze(0),
            image_pe=model.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask_output,
            repeat_image=batched_mode,
            high_res_features=high_res_features,
        )
        return low_res, iou_predictions

    def decode(
        self, model: torch.nn.Module, embedding: Embedding, points: np.ndarray, config: AmgConfig
    ) -> DecodedBatch:
        """Mirror `SAM2AutomaticMaskGenerator._process_batch` up to the thresholds (with `refine_with_m2m`)."""
        device = next(model.parameters()).device
        transforms = _transforms(int(model.image_size), 0)  # type: ignore[arg-type]
        batch_points = torch.as_tensor(points, dtype=torch.float32, device=device)
        in_points = transforms.transform_coords(batch_points, normalize=True, orig_hw=embedding.crop_size)
        low_res, iou_preds = self._predict(model, embedding, in_points, config.multimask_output)
        n_outputs = int(low_res.shape[1])
        flat_points = batch_points.repeat_interleave(n_outputs, dim=0)
        flat_low_res = low_res.flatten(0, 1)
        flat_iou = iou_preds.flatten(0, 1)
        if config.use_m2m:
            refine_points = transforms.transform_coords(flat_points, normalize=True, orig_hw=embedding.crop_size)
            mask_inputs = torch.clamp(flat_low_res, -32.0, 32.0)  # what `_predict` returns as low_res_masks
            refined_logits: list[torch.Tensor] = []
            refined_iou: list[torch.Tensor] = []
            for chunk_points, chunk_masks in batch_iterator(config.points_per_batch, refine_points, mask_inputs):
                chunk_low_res, chunk_iou = self._predict(
                    model, embedding, chunk_points, False, mask_input=chunk_masks[:, None, :]
                )
                refined_logits.append(chunk_low_res[:, 0])
                refined_iou.append(chunk_iou[:, 0])
            flat_low_res = torch.cat(refined_logits)
            flat_iou = torch.cat(refined_iou)
        return DecodedBatch(flat_low_res, flat_iou, flat_points.cpu(), n_outputs)

    def upscale(
        self,
        model: torch.nn.Module,
        low_res: torch.Tensor,
        input_size: tuple[int, int],
        crop_size: tuple[int, int],
        config: AmgConfig,
    ) -> torch.Tensor:
        """`SAM2Transforms.postprocess_masks` itself, configured as the generator configures its predictor."""
        area = self._logit_area(low_res.device, config)
        transforms = _transforms(int(model.image_size), area)  # type: ignore[arg-type]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the official "Skipping the post-processing step" warning, per batch
            return transforms.postprocess_masks(low_res, crop_size)

    def _logit_area(self, device: torch.device, config: AmgConfig) -> int:
        return int(config.min_mask_region_area) if small_regions_on_logits(str(device)) else 0

    def mask_threshold(self, model: torch.nn.Module, config: AmgConfig) -> float:
        return float(config.mask_threshold)

    def decode_key(self, model: torch.nn.Module, config: AmgConfig) -> tuple[Any, ...]:
        device = next(model.parameters()).device
        return (
            float(config.mask_threshold),
            bool(config.multimask_output),
            bool(config.use_m2m),
            self._logit_area(device, config),
        )

    def encoder_input_side(self, model: torch.nn.Module) -> int:
        return int(model.image_size)  # type: ignore[arg-type]

    def cleans_small_regions(self, config: AmgConfig) -> bool:
        return False

    def funnel_notes(self, model: torch.nn.Module, config: AmgConfig) -> tuple[str, ...]:
        notes = []
        if config.use_m2m:
            notes.append(
                "use_m2m: every candidate was decoded a second time with its own low-res mask as the prompt, "
                "before any threshold; its scores and masks are the second pass's"
            )
        if not config.multimask_output:
            notes.append("multimask_output off: one candidate per point")
        if config.min_mask_region_area > 0:
            device = str(next(model.parameters()).device)
            if small_regions_on_logits(device):
                notes.append(
                    f"min_mask_region_area {config.min_mask_region_area}: holes and islands of at most that many "
                    "pixels of the 256 x 256 low-res logits were flipped before up-scaling (sam2._C), so no mask "
                    "was dropped for it"
                )
            else:
                notes.append(
                    f"min_mask_region_area {config.min_mask_region_area}: no effect here, as in the official "
                    f"generator: SAM 2 applies it to low-res logits with its CUDA extension sam2._C, which is not "
                    f"available on {device}, and never runs SAM's small-region clean-up"
                )
        return tuple(notes)


SAM2 = Sam2Family()
