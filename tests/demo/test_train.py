"""The demo SAM's training recipe: prompts, losses, and reproducibility, on a few tiny steps."""

import numpy as np
import torch
from segment_anything.utils.transforms import ResizeLongestSide

from samcompare.demo.architecture import build_demo_sam
from samcompare.demo.shapes import generate_scene
from samcompare.demo.train import (
    RegionSimilarity,
    TrainingRecipe,
    align_decoder_attention,
    embed_scenes,
    region_loss,
    sample_prompts,
    train,
    training_step,
)

TINY = TrainingRecipe(steps=2, images_per_step=2, points_per_image=3, warmup_steps=1)


def test_prompts_lie_inside_the_region_they_ask_for():
    scene = generate_scene(np.random.default_rng(4))
    points, targets = sample_prompts(scene, np.random.default_rng(0), 50, background_fraction=0.2)
    assert points.shape == (50, 2) and targets.shape == (50, *scene.labels.shape)
    for (x, y), target in zip(points, targets, strict=True):
        assert target[int(round(y)), int(round(x))]
        region = scene.labels[int(round(y)), int(round(x))]
        assert np.array_equal(target, scene.labels == region)


def test_aligned_attention_starts_with_equal_query_and_key_projections():
    sam = build_demo_sam()
    align_decoder_attention(sam, gain=3.0)
    transformer = sam.mask_decoder.transformer
    for attention in [transformer.final_attn_token_to_image, transformer.layers[0].cross_attn_token_to_image]:
        assert torch.equal(attention.q_proj.weight, attention.k_proj.weight)


def test_region_loss_trains_the_encoder_but_not_the_prompt_path():
    torch.manual_seed(0)
    sam = build_demo_sam()
    sam.train()
    scenes = [generate_scene(np.random.default_rng(i), 64, 64) for i in range(2)]
    embeddings = embed_scenes(sam, scenes, ResizeLongestSide(sam.image_encoder.img_size))
    loss = region_loss(sam, embeddings, scenes, RegionSimilarity(), pixels=64)
    loss.backward()
    assert torch.isfinite(loss)
    assert sam.image_encoder.patch_embed.proj.weight.grad.abs().sum() > 0
    assert sam.mask_decoder.output_upscaling[0].weight.grad.abs().sum() > 0
    assert sam.mask_decoder.iou_prediction_head.layers[0].weight.grad is None


def test_training_steps_on_one_batch_reduce_its_loss():
    torch.manual_seed(0)
    sam = build_demo_sam()
    align_decoder_attention(sam, TINY.attention_alignment_gain)
    sam.train()
    similarity = RegionSimilarity()
    parameters = [*sam.parameters(), *similarity.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=5e-4)
    scenes = [generate_scene(np.random.default_rng(i)) for i in range(2)]
    losses = []
    for _ in range(25):
        optimizer.zero_grad(set_to_none=True)
        metrics = training_step(sam, scenes, np.random.default_rng(0), TINY, similarity)
        optimizer.step()
        losses.append(metrics["mask_loss"])
    assert losses[-1] < 0.7 * losses[0]


def test_training_is_reproducible(tmp_path):
    first = torch.load(train(TINY, tmp_path / "a.pth", log_every=1000), weights_only=True)
    second = torch.load(train(TINY, tmp_path / "b.pth", log_every=1000), weights_only=True)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not (tmp_path / "a.partial.pth").exists()
