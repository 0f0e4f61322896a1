"""MobileSAM's SAM (`vit_t`): a TinyViT image encoder with segment_anything's own prompt encoder and decoder.

The encoder is MobileSAM's `TinyViT` from the `mobilesam-mirror` package; prompt encoder, mask
decoder and `Sam` are segment_anything's, so `SamPredictor` and `SamAutomaticMaskGenerator` run
it unchanged. The state-dict layout is MobileSAM's `build_sam_vit_t`, so MobileSAM's own
`mobile_sam.pt` loads into it too.
"""

from __future__ import annotations

import warnings

import torch
from segment_anything.modeling import MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

IMAGE_SIZE = 1024
PROMPT_DIM = 256
# The key only a TinyViT encoder has: how a vit_t checkpoint is told from a ViT one.
TINY_VIT_KEY = "image_encoder.patch_embed.seq.0.c.weight"


def _tiny_vit_classes() -> tuple[type, type]:
    # mobile_sam imports timm through deprecated paths and re-registers timm's TinyViT names; the
    # warnings say nothing a user can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mobile_sam.modeling.tiny_vit_sam import Conv2d_BN, TinyViT
    return TinyViT, Conv2d_BN


def build_vit_t() -> Sam:
    """An untrained `vit_t` SAM with MobileSAM's hyper-parameters (load a state dict into it)."""
    tiny_vit, _ = _tiny_vit_classes()
    embedding_size = IMAGE_SIZE // 16
    return Sam(
        image_encoder=tiny_vit(
            img_size=IMAGE_SIZE,
            in_chans=3,
            num_classes=1000,
            embed_dims=[64, 128, 160, 320],
            depths=[2, 2, 6, 2],
            num_heads=[2, 4, 5, 10],
            window_sizes=[7, 7, 14, 7],
            mlp_ratio=4.0,
            drop_rate=0.0,
            drop_path_rate=0.0,
            use_checkpoint=False,
            mbconv_expand_ratio=4.0,
            local_conv_size=3,
            layer_lr_decay=0.8,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=PROMPT_DIM,
            image_embedding_size=(embedding_size, embedding_size),
            input_image_size=(IMAGE_SIZE, IMAGE_SIZE),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=2, embedding_dim=PROMPT_DIM, mlp_dim=2048, num_heads=8),
            transformer_dim=PROMPT_DIM,
            iou_head_depth=3,
            iou_head_hidden_dim=256,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )


def prepare_for_inference(sam: Sam) -> Sam:
    """Fold every batch norm into its convolution and keep the encoder's weights channels-last.

    The same function up to float rounding (max abs 3e-6 on an embedding of values within +-1),
    in about two thirds of the time on a CPU: the folded form is how onnxruntime runs it. Call it
    after loading the weights and before `eval()`; afterwards the state dict no longer has
    MobileSAM's layout, so save weights before, not after.
    """
    _, conv2d_bn = _tiny_vit_classes()

    def fold(module: torch.nn.Module) -> None:
        for name, child in module.named_children():
            if isinstance(child, conv2d_bn):
                setattr(module, name, child.fuse())  # type: ignore[operator]
            else:
                fold(child)

    encoder: torch.nn.Module = sam.image_encoder
    with torch.no_grad():
        fold(encoder)
    encoder.to(memory_format=torch.channels_last)
    return sam
