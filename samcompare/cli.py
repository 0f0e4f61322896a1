"""`python -m samcompare ...`: a thin command line over the package.

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
from samcompare.models.catalogue import MODEL_CATALOGUE, OFFICIAL_MODELS, checkpoint_path, human_size, weights_dir
from samcompare.models.download import DownloadError, checkpoint_status, download_checkpoint
from samcompare.models.loading import ModelLoadError
from samcompare.store.store import StoreError

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
        print(f"  {name:6} {spec.filename:22} {state:20} {spec.description}")
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


def weights_download(args: argparse.Namespace) -> int:
    progress = _Progress(MODEL_CATALOGUE[args.name].filename)
    try:
        path = download_checkpoint(args.name, directory=args.dir, url=args.url, progress=progress)
    finally:
        progress.close()
    print(f"saved {path} (SHA-256 verified)")
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
    "mask_count": "masks",
    "coverage_pct": "coverage %",
    "overlap_pct": "overlap %",
    "area_median": "median area",
    "predicted_iou_mean": "mean IoU pred",
    "stability_score_mean": "mean stability",
    "run_seconds": "seconds",
    "from_cache": "reused",
}


def run_compare(args: argparse.Namespace) -> int:
    from samcompare.engine import compare
    from samcompare.models import default_model, load_model
    from samcompare.results.report import write_comparison

    image = read_image(args.image)  # inputs first: fail fast, before the model loads
    configs = [AmgConfig.preset(name) for name in args.preset]
    configs += [read_setting_file(path) for path in args.config]
    if not configs:
        configs = [AmgConfig.preset(name) for name in DEFAULT_COMPARE_PRESETS]
    out_dir = args.out if args.out is not None else Path("samcompare-results") / args.image.stem
    model_name = args.model if args.model is not None else default_model()
    model = load_model(model_name, device=args.device)
    print(f"{args.image}: {image.shape[1]}x{image.shape[0]} px, model {model_name}, {len(configs)} settings")
    progress = _CompareProgress()
    try:
        results = compare(model, image, configs, progress=progress)
    finally:
        progress.close()
    files = write_comparison(out_dir, image, results, image_file_name=args.image.name, iou_threshold=args.iou_threshold)
    shown = files.table[list(COMPARE_COLUMNS)].rename(columns=COMPARE_COLUMNS)
    print(shown.to_string(index=False, float_format=lambda value: f"{value:.2f}"))
    if files.match_report is not None:
        print(files.match_report.summary_text())
    print(f"wrote {files.out_dir}")
    return 0


def run_batch_command(args: argparse.Namespace) -> int:
    from samcompare.batch import BatchRequest, run_batch
    from samcompare.models import default_model

    configs = [AmgConfig.preset(name) for name in args.preset]
    configs += [read_setting_file(path) for path in args.config]
    request = BatchRequest(
        folder=args.folder,
        configs=tuple(configs),
        model_name=args.model if args.model is not None else default_model(),
        out_dir=args.out,
        device=args.device,
        ray_address=args.ray,
        workers=args.workers,
        threads=args.threads,
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m samcompare", description="Compare SAM mask-generator settings.")
    commands = parser.add_subparsers(dest="command", required=True)

    weights = commands.add_parser("weights", help="list, download and verify official SAM checkpoints")
    weights_commands = weights.add_subparsers(dest="weights_command", required=True)
    weights_commands.add_parser("list", help="which checkpoints are present").set_defaults(handler=weights_list)
    verify = weights_commands.add_parser("verify", help="check present checkpoints against published SHA-256")
    verify.add_argument("name", nargs="?", choices=OFFICIAL_MODELS)
    verify.set_defaults(handler=weights_verify)
    download = weights_commands.add_parser("download", help="fetch an official checkpoint, verified by SHA-256")
    download.add_argument("name", choices=OFFICIAL_MODELS)
    download.add_argument("--dir", type=_path, default=None, help="target folder (default: the weights folder)")
    download.add_argument("--url", default=None, help="download from this URL instead of the official one")
    download.set_defaults(handler=weights_download)

    compare = commands.add_parser(
        "compare",
        help="run several settings on one image; print a comparison table and write masks, stats and pictures",
        description="Settings run in order: --preset ones first, then --config files. "
        f"Without either: {' and '.join(repr(n) for n in DEFAULT_COMPARE_PRESETS)}.",
    )
    compare.add_argument("image", type=_path, help="the image (any format Pillow reads)")
    compare.add_argument("--preset", action="append", default=[], metavar="NAME", help="a preset by name (repeatable)")
    compare.add_argument(
        "--config", action="append", default=[], type=_path, metavar="FILE.json", help="a setting file (repeatable)"
    )
    compare.add_argument("--model", default=None, help="catalogue name or checkpoint path (default: best present)")
    compare.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, mps or auto (default)")
    compare.add_argument("--out", type=_path, default=None, help="output folder (default: samcompare-results/IMAGE)")
    compare.add_argument(
        "--iou-threshold", type=_iou_threshold, default=0.5, help="mask IoU for matching the first two settings"
    )
    compare.set_defaults(handler=run_compare)

    batch = commands.add_parser(
        "batch",
        help="run settings on every image of a folder; resumable; locally or on a Ray cluster",
        description="Every file in FOLDER that Pillow reads is run under each setting (one compare call per "
        "image, so settings share work). Each image is committed to OUT/samcompare.db as it finishes: the same "
        "command again skips what is done. Writes OUT/images.csv, OUT/summary.csv, OUT/masks/SETTING/IMAGE.json "
        "(COCO) and OUT/report.html.",
    )
    batch.add_argument("folder", type=_path, metavar="FOLDER", help="the folder of images (not its subfolders)")
    batch.add_argument("--preset", action="append", default=[], metavar="NAME", help="a preset by name (repeatable)")
    batch.add_argument(
        "--config", action="append", default=[], type=_path, metavar="FILE.json", help="a setting file (repeatable)"
    )
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
    batch.add_argument("--workers", type=_positive_int, default=None, help="with --ray: at most this many workers")
    batch.add_argument(
        "--threads",
        type=_positive_int,
        default=DEFAULT_THREADS,
        help=f"torch threads per image, here and on each Ray worker (default {DEFAULT_THREADS}); results are "
        "bit-identical between runs with the same count",
    )
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
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
