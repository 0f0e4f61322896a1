"""The demo SAM's training recipe: prompts, losses, and reproducibility, on a few tiny steps."""

from dataclasses import replace

import numpy as np
import torch
from segment_anything.utils.transforms import ResizeLongestSide

from samcompare.demo.architecture import build_demo_sam
from samcompare.demo.shapes import generate_scene
from samcompare.demo.train import (
    RegionSimilarity,
    TrainingRecipe,
    align_decoder_attention,
    decode_prompts,
    embed_scenes,
    region_loss,
    sample_prompts,
    sharpen_mask_logits,
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


def test_training_continues_a_saved_checkpoint(tmp_path):
    """At learning rate 0 a continued run saves the weights it loaded: sharpening is undone and redone exactly."""
    start = tmp_path / "start.pth"
    train(TINY, start, log_every=1000)
    continued = train(replace(TINY, steps=1, learning_rate=0.0, seed=1), tmp_path / "more.pth", init_from=start)
    before, after = torch.load(start, weights_only=True), torch.load(continued, weights_only=True)
    assert all(torch.allclose(before[k], after[k], rtol=1e-6, atol=1e-7) for k in before)


def test_training_stops_at_its_time_limit(tmp_path, capsys):
    train(replace(TINY, steps=50), tmp_path / "a.pth", log_every=1000, max_minutes=0.0)
    assert "at step 1/50" in capsys.readouterr().out
    assert (tmp_path / "a.pth").exists()


def _decoder_inputs(n_images: int, n_prompts: int, seed: int):
    """A fresh demo SAM, random image embeddings and the prompt embeddings of random points."""
    torch.manual_seed(0)
    sam = build_demo_sam()
    embeddings = torch.randn(n_images, sam.prompt_encoder.embed_dim, 16, 16)
    coords = torch.from_numpy(np.random.default_rng(seed).uniform(0, 64, (n_prompts, 1, 2))).float()
    labels = torch.ones(n_prompts, 1, dtype=torch.int)
    with torch.no_grad():
        sparse, dense = sam.prompt_encoder(points=(coords, labels), boxes=None, masks=None)
    return sam, embeddings, sparse, dense


def test_one_batched_decoder_call_equals_one_call_per_image():
    sam, embeddings, sparse, dense = _decoder_inputs(3, 6, seed=1)
    image_index = torch.tensor([0, 0, 1, 1, 2, 2])
    with torch.no_grad():
        logits, ious = decode_prompts(sam, embeddings, image_index, sparse, dense)
        for image in range(3):
            rows = image_index == image
            one_logits, one_ious = sam.mask_decoder.predict_masks(
                embeddings[image : image + 1], sam.prompt_encoder.get_dense_pe(), sparse[rows], dense[rows]
            )
            assert torch.allclose(logits[rows], one_logits, atol=1e-5)
            assert torch.allclose(ious[rows], one_ious, atol=1e-6)


def test_sharpening_scales_the_logits_but_not_the_masks_or_scores():
    sam, embeddings, sparse, dense = _decoder_inputs(1, 4, seed=2)
    image_index = torch.zeros(4, dtype=torch.long)
    with torch.no_grad():
        before, before_iou = decode_prompts(sam, embeddings, image_index, sparse, dense)
        sharpen_mask_logits(sam, 4.0)
        after, after_iou = decode_prompts(sam, embeddings, image_index, sparse, dense)
    assert torch.allclose(after, 4 * before, rtol=1e-4, atol=1e-4)
    assert torch.equal(after_iou, before_iou)
