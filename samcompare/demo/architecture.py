"""The demo SAM: segment_anything's own modules at a size a 2-core CPU can train.

The official `SamPredictor` and `SamAutomaticMaskGenerator` run it unchanged. Its input is 64 px
with 4 px patches: a 16 x 16 embedding and 64 x 64 masks, one mask pixel per input pixel. Larger
images are shrunk to 64 px as SAM shrinks photos to 1024 px, and the masks' logits are up-scaled
back; training supervises them through that up-scaling, so they carry edges finer than a pixel.
(An 8 px patch at 128 px costs the same and learned markedly slower: each token then has to
summarise 64 pixels for 16 mask pixels.)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer


@dataclass(frozen=True)
class DemoSamSpec:
    img_size: int = 64
    patch_size: int = 4
    encoder_dim: int = 96
    encoder_depth: int = 4
    encoder_heads: int = 4
    window_size: int = 8
    global_attn_indexes: tuple[int, ...] = (1, 3)
    prompt_dim: int = 128
    decoder_mlp_dim: int = 512
    decoder_heads: int = 8
    iou_head_hidden_dim: int = 128
    # SAM's random Fourier position features start at scale 1. The demo starts them sharper so
    # that nearby points differ, but below 8 cycles per image: the 16 x 16 embedding grid would
    # alias anything finer (an earlier scale of 6 did).
    position_frequency_scale: float = 2.0

    @property
    def embedding_size(self) -> int:
        return self.img_size // self.patch_size


DEMO_SPEC = DemoSamSpec()


def build_demo_sam(spec: DemoSamSpec = DEMO_SPEC) -> Sam:
    """An untrained demo SAM in eval mode (load the trained state dict into it)."""
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=spec.img_size,
            patch_size=spec.patch_size,
            embed_dim=spec.encoder_dim,
            depth=spec.encoder_depth,
            num_heads=spec.encoder_heads,
            mlp_ratio=4,
            out_chans=spec.prompt_dim,
            qkv_bias=True,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=True,
            window_size=spec.window_size,
            global_attn_indexes=spec.global_attn_indexes,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=spec.prompt_dim,
            image_embedding_size=(spec.embedding_size, spec.embedding_size),
            input_image_size=(spec.img_size, spec.img_size),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=2, embedding_dim=spec.prompt_dim, mlp_dim=spec.decoder_mlp_dim, num_heads=spec.decoder_heads
            ),
            transformer_dim=spec.prompt_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=spec.iou_head_hidden_dim,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    with torch.no_grad():
        sam.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix.mul_(spec.position_frequency_scale)
    sam.eval()
    return sam
