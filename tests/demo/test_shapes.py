import numpy as np

from samcompare.demo.shapes import generate_scene, load_scene, save_scene


def test_scenes_are_seeded_and_exact():
    a = generate_scene(np.random.default_rng(7))
    b = generate_scene(np.random.default_rng(7))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert a.image.dtype == np.uint8 and a.image.shape == (128, 128, 3)
    assert a.labels.max() == len(a.kinds)


def test_ground_truth_is_occlusion_aware_and_disjoint():
    scene = generate_scene(np.random.default_rng(3), 96, 160)
    masks = scene.object_masks()
    assert masks, "a scene has objects"
    total = np.sum(masks, axis=0)
    assert total.max() == 1  # each pixel belongs to at most one visible shape
    assert all(m.sum() >= scene.min_visible_area for m in masks)


def test_scenes_vary_in_kind_count_and_size():
    rng = np.random.default_rng(0)
    scenes = [generate_scene(rng) for _ in range(40)]
    kinds = {k for s in scenes for k in s.kinds}
    assert kinds == {"rectangle", "ellipse", "triangle", "polygon"}
    areas = [m.sum() for s in scenes for m in s.object_masks()]
    assert min(areas) < 100 and max(areas) > 1500


def test_save_and_load_round_trip(tmp_path):
    scene = generate_scene(np.random.default_rng(1), 64, 80)
    save_scene(scene, tmp_path, "s")
    again = load_scene(tmp_path / "s.png")
    assert np.array_equal(again.image, scene.image)
    assert np.array_equal(again.labels, scene.labels)
    assert again.object_ids() == scene.object_ids()


def test_shapes_below_one_model_patch_are_clutter_not_ground_truth():
    scenes = [generate_scene(np.random.default_rng(i)) for i in range(30)]
    assert scenes[0].min_visible_area == 64  # 8 x 8 px of 128 px: one 4 px patch at the model's 64 px
    clutter = 0
    for scene in scenes:
        counts = np.bincount(scene.labels.ravel(), minlength=len(scene.kinds) + 1)
        small = {i for i in range(1, len(scene.kinds) + 1) if 0 < counts[i] < 64}
        assert small.isdisjoint(scene.object_ids())
        clutter += len(small)
    assert clutter > 0, "some drawn shapes are too small to count"
