"""The demo SAM's training recipe: prompts, losses, and reproducibility, on a few tiny steps."""

import itertools
from dataclasses import fields, replace

import numpy as np
import pytest
import torch
from segment_anything.utils.transforms import ResizeLongestSide

from samcompare.demo.architecture import build_demo_sam
from samcompare.demo.shapes import generate_scene
from samcompare.demo.train import (
    TIMED_STEPS,
    UNTIMED_STEPS,
    RegionSimilarity,
    StepRecord,
    TrainingBatch,
    TrainingRecipe,
    align_decoder_attention,
    build_parser,
    decode_prompts,
    draw_batch,
    embed_images,
    learning_rate_at,
    main,
    prepare_batch,
    recipe_from_args,
    region_loss,
    sample_prompts,
    sharpen_mask_logits,
    steps_that_fit,
    train,
    training_batches,
    training_step,
    worker_generator,
)

TINY = TrainingRecipe(steps=2, images_per_step=2, points_per_image=3, warmup_steps=1)
RESIZE = ResizeLongestSide(build_demo_sam().image_encoder.img_size)

# The first 4 steps of `replace(TINY, steps=4)` as the code before the GPU options (commit af76fa3)
# gave them on one thread. The default path must keep its random streams and its order of
# computation; 1e-5 relative leaves room for another CPU's (or thread count's) float rounding.
TODAYS_FIRST_STEPS = {
    "mask_loss": [2.4412953853607178, 2.4106028079986572, 2.3860416412353516, 2.3905653953552246],
    "iou_loss": [0.020513614639639854, 0.0012014881940558553, 0.0028449322562664747, 0.001105715986341238],
    "region_loss": [1.147099494934082, 0.920448362827301, 1.0784006118774414, 0.9983336925506592],
    "best_iou": [0.049500688910484314, 0.0448027141392231, 0.04409072920680046, 0.02804996632039547],
}


@pytest.fixture(autouse=True)
def one_thread():
    """Train on one thread, as the command does by default: two OpenMP threads crawl on a shared 2-core CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _batches_equal(first: TrainingBatch, second: TrainingBatch) -> bool:
    return all(torch.equal(getattr(first, f.name), getattr(second, f.name)) for f in fields(first))


def _weights_equal(first_path, second_path) -> bool:
    first, second = torch.load(first_path, weights_only=True), torch.load(second_path, weights_only=True)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


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
    batch = prepare_batch(scenes, np.random.default_rng(0), TINY, RESIZE)
    embeddings = embed_images(sam, batch.images)
    loss = region_loss(sam, embeddings, batch.labels, RegionSimilarity(), pixels=64)
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
    batch = prepare_batch(scenes, np.random.default_rng(0), TINY, RESIZE)
    losses = []
    for _ in range(25):
        optimizer.zero_grad(set_to_none=True)
        metrics = training_step(sam, batch, TINY, similarity)
        optimizer.step()
        losses.append(metrics["mask_loss"])
    assert losses[-1] < 0.7 * losses[0]


def test_training_is_reproducible(tmp_path):
    first = torch.load(train(TINY, tmp_path / "a.pth", log_every=1000), weights_only=True)
    second = torch.load(train(TINY, tmp_path / "b.pth", log_every=1000), weights_only=True)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not (tmp_path / "a.partial.pth").exists()


def test_default_training_gives_the_figures_it_gave_before_the_gpu_options(tmp_path):
    records: list[StepRecord] = []
    train(replace(TINY, steps=4), tmp_path / "a.pth", log_every=1000, on_step=records.append)
    assert [r.step for r in records] == [0, 1, 2, 3] and all(r.steps == 4 for r in records)
    for name, figures in TODAYS_FIRST_STEPS.items():
        assert [r.metrics[name] for r in records] == pytest.approx(figures, rel=1e-5), name


def test_a_step_holds_images_per_step_times_points_per_image_prompts():
    args = build_parser().parse_args(["--images-per-step", "3", "--points-per-image", "5"])
    recipe = recipe_from_args(args)
    assert (recipe.images_per_step, recipe.points_per_image) == (3, 5)
    assert recipe_from_args(build_parser().parse_args([])) == TrainingRecipe()
    batch = draw_batch(np.random.default_rng(0), recipe, RESIZE)
    assert batch.images.shape == (3, 64, 64, 3) and batch.images.dtype == torch.uint8
    assert batch.labels.shape == (3, 128, 128)
    assert batch.coords.shape == (15, 1, 2) and batch.targets.shape == (15, 128, 128)
    assert batch.image_index.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    torch.manual_seed(0)
    sam = build_demo_sam()
    metrics = training_step(sam, batch, recipe, RegionSimilarity())
    assert all(np.isfinite(value) for value in metrics.values())


def test_worker_k_draws_batches_k_k_plus_n_and_so_on_from_its_own_generator():
    batches = training_batches(TINY, 64, workers=2, device=torch.device("cpu"))
    try:
        drawn = list(itertools.islice(batches, 4))
    finally:
        batches.close()
    own = [worker_generator(TINY.seed, worker) for worker in (0, 1)]
    expected = [draw_batch(own[k % 2], TINY, RESIZE) for k in range(4)]
    assert all(_batches_equal(d, e) for d, e in zip(drawn, expected, strict=True))
    in_process = draw_batch(np.random.default_rng(TINY.seed), TINY, RESIZE)
    assert not torch.equal(drawn[0].images, in_process.images)


def test_training_with_workers_is_reproducible_and_differs_from_in_process(tmp_path):
    train(TINY, tmp_path / "a.pth", log_every=1000, workers=2)
    train(TINY, tmp_path / "b.pth", log_every=1000, workers=2)
    train(TINY, tmp_path / "c.pth", log_every=1000)
    assert _weights_equal(tmp_path / "a.pth", tmp_path / "b.pth")
    assert not _weights_equal(tmp_path / "a.pth", tmp_path / "c.pth")


def test_steps_that_fit_a_time_box():
    # 22 steps done in 10 s at 0.41 s a step: 350 s left hold 853 more.
    assert steps_that_fit(6.0, elapsed_s=10.0, steps_done=22, seconds_per_step=0.41) == 22 + 853
    assert steps_that_fit(1.0, elapsed_s=59.0, steps_done=22, seconds_per_step=2.0) == 22
    assert steps_that_fit(1.0, elapsed_s=75.0, steps_done=22, seconds_per_step=2.0) == 22
    with pytest.raises(ValueError, match="seconds_per_step"):
        steps_that_fit(1.0, elapsed_s=1.0, steps_done=22, seconds_per_step=0.0)


def test_minutes_sets_the_step_count_from_timed_steps_and_the_schedule_completes(tmp_path, capsys):
    """A clock that advances 1 s per step: 22 steps timed in 22 s leave 8 s of 0.5 minutes, 8 steps more."""
    now = [0.0]
    records: list[StepRecord] = []

    def one_second_per_step(record: StepRecord) -> None:
        records.append(record)
        now[0] += 1.0

    recipe = replace(TINY, scene_size=64, images_per_step=1, points_per_image=1, region_pixels_per_image=64)
    train(recipe, tmp_path / "a.pth", log_every=1000, minutes=0.5, on_step=one_second_per_step, clock=lambda: now[0])
    timed = UNTIMED_STEPS + TIMED_STEPS
    assert f"timed {TIMED_STEPS} steps at 1.00 s: 30 steps fit in 0.5 minutes" in capsys.readouterr().out
    assert len(records) == 30
    assert all(r.steps is None for r in records[:timed]) and all(r.steps == 30 for r in records[timed:])
    # While timing, the schedule runs as if endless: past the 1-step warm-up, the peak rate.
    assert all(r.learning_rate == pytest.approx(recipe.learning_rate) for r in records[:timed])
    rates = [r.learning_rate for r in records[timed:]]
    assert rates == sorted(rates, reverse=True)
    assert rates[-1] < 0.01 * recipe.learning_rate
    assert learning_rate_at(30, replace(recipe, steps=30)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("device", "says"),
    [("cuda:99", "cuda:99"), ("nonsense", "unknown device"), ("meta", "cannot train on 'meta'")],
)
def test_an_unusable_device_gives_a_one_line_error(tmp_path, capsys, device, says):
    with pytest.raises(SystemExit) as stopped:
        main(["--device", device, "--steps", "1", "--output", str(tmp_path / "a.pth")])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and says in error and error.count("\n") == 1
    assert not (tmp_path / "a.pth").exists()


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="MPS is present here")
def test_mps_where_there_is_none_gives_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--device", "mps", "--steps", "1", "--output", str(tmp_path / "a.pth")])
    assert capsys.readouterr().err.startswith("error: device 'mps' asked for, but MPS is not available")


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
