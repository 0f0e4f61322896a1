"""A SAM whose decoder draws irregular blobs around each point: a test double with varied masks.

Random weights give noise-like full-image masks, which leave NMS, crop-edge filtering and the
small-region clean-up untested. This model keeps segment_anything's `Sam` (and a real, random
demo image encoder) but swaps in a prompt encoder that passes the point through and a decoder
whose three outputs are blobs of three sizes, roughened by the image embedding, with
pseudo-random predicted IoUs in [0.3, 1.1]. Masks get holes, islands and crop-edge contacts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam
from torch import nn

from samcompare.demo.architecture import build_demo_sam


class PassThroughPromptEncoder(nn.Module):
    """Sparse embedding = the point normalised to [0, 1] of the model input, then its label."""

    def __init__(self, image_embedding_size: tuple[int, int], input_image_size: tuple[int, int]) -> None:
        super().__init__()
        self.image_embedding_size = image_embedding_size
        self.input_image_size = input_image_size

    def get_dense_pe(self) -> torch.Tensor:
        return torch.zeros(1, 1, *self.image_embedding_size)

    def forward(self, points, boxes, masks):
        coords, labels = points
        size = torch.tensor([self.input_image_size[1], self.input_image_size[0]], dtype=torch.float32)
        sparse = torch.cat([(coords.float() + 0.5) / size, labels[..., None].float()], dim=-1)
        dense = torch.zeros(coords.shape[0], 1, *self.image_embedding_size)
        return sparse, dense


class BlobDecoder(nn.Module):
    radii = (0.07, 0.16, 0.33)

    def forward(self, image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings, multimask_output):
        b = sparse_prompt_embeddings.shape[0]
        h, w = 4 * image_embeddings.shape[-2], 4 * image_embeddings.shape[-1]
        xy = sparse_prompt_embeddings[:, 0, :2]
        texture = F.interpolate(image_embeddings[:, :2], (h, w), mode="bilinear", align_corners=False)
        texture = (texture - texture.mean()) / (texture.std() + 1e-6)
        yy = ((torch.arange(h, dtype=torch.float32) + 0.5) / h)[None, None, :, None]
        xx = ((torch.arange(w, dtype=torch.float32) + 0.5) / w)[None, None, None, :]
        distance = torch.sqrt((xx - xy[:, 0, None, None, None]) ** 2 + (yy - xy[:, 1, None, None, None]) ** 2)
        radii = torch.tensor(self.radii)[None, :, None, None]
        ripple = torch.sin(40 * xx + 3 * texture[:, :1]) * torch.sin(40 * yy)
        logits = 150 * (radii - distance) + 1.5 * texture[:, 1:2] + 2.0 * ripple
        k = torch.arange(3, dtype=torch.float32)[None, :]
        iou = 0.7 + 0.4 * torch.sin(37 * xy[:, :1] + 53 * xy[:, 1:2] + 11 * k)
        return logits.expand(b, 3, h, w).contiguous(), iou


class IslandBlobDecoder(BlobDecoder):
    """Output 0 is output 1's small blob plus a detached island to its right.

    Before the small-region clean-up the island stretches output 0's box, so box NMS keeps both;
    once the island is removed the two masks coincide and the clean-up's own NMS drops one.
    """

    def forward(self, image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings, multimask_output):
        logits, iou = super().forward(
            image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings, multimask_output
        )
        h, w = logits.shape[-2:]
        xy = sparse_prompt_embeddings[:, 0, :2]
        yy = ((torch.arange(h, dtype=torch.float32) + 0.5) / h)[None, :, None]
        xx = ((torch.arange(w, dtype=torch.float32) + 0.5) / w)[None, None, :]
        island = 150 * (0.03 - torch.sqrt((xx - xy[:, 0, None, None] - 0.25) ** 2 + (yy - xy[:, 1, None, None]) ** 2))
        small_blob = logits[:, 0]
        return torch.stack([torch.maximum(small_blob, island), small_blob, logits[:, 2]], dim=1), iou


def build_blob_sam(seed: int = 0, islands: bool = False) -> Sam:
    torch.manual_seed(seed)
    sam = build_demo_sam()
    sam.prompt_encoder = PassThroughPromptEncoder(
        sam.prompt_encoder.image_embedding_size, sam.prompt_encoder.input_image_size
    )
    sam.mask_decoder = IslandBlobDecoder() if islands else BlobDecoder()
    sam.eval()
    return sam
