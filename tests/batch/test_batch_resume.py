"""A batch killed mid-run (SIGKILL, a real process) and started again ends with the files of a run that went through."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from samcompare.batch import run_batch
from samcompare.batch.outputs import TIMING_COLUMNS
from tests.batch.conftest import SceneFolder, request_for

REPO_ROOT = Path(__file__).resolve().parents[2]
KILL_AFTER_ITEMS = 2  # the broken file (first by name) and one image committed


def committed_items(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM batch_items").fetchone()[0])
    except sqlite3.OperationalError:  # the file exists but its tables do not yet
        return 0


def kill_mid_run(scene_folder: SceneFolder, out: Path) -> int:
    """Start the CLI, SIGKILL it once KILL_AFTER_ITEMS files are committed; return how many were."""
    command = [sys.executable, "-m", "samcompare", "batch", str(scene_folder.path), "--model", "demo"]
    for setting in scene_folder.settings:
        command += ["--config", str(setting)]
    command += ["--device", "cpu", "--out", str(out)]
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    database = out / "samcompare.db"
    deadline = time.monotonic() + 180
    try:
        while committed_items(database) < KILL_AFTER_ITEMS:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the batch committed nothing within 3 minutes"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
        if process.stderr:
            process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    return committed_items(database)


def without_timings(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path)
    return table.drop(columns=[c for c in table.columns if c in TIMING_COLUMNS])


def output_files(out: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(out)): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and not path.name.startswith("samcompare.db")
    }


def test_killed_then_resumed_batch_writes_the_files_of_an_uninterrupted_one(
    scene_folder: SceneFolder, tmp_path: Path
) -> None:
    killed = tmp_path / "killed"
    committed = kill_mid_run(scene_folder, killed)
    total = len(scene_folder.names)
    assert KILL_AFTER_ITEMS <= committed < total, f"killed after {committed} of {total}: not mid-run"
    assert not (killed / "images.csv").exists()

    messages: list[str] = []
    run_batch(request_for(scene_folder, killed), echo=messages.append, progress=False)
    assert messages[0].endswith(f"{committed - 1} done before, {total - committed + 1} to run")  # the failed file again

    straight = tmp_path / "straight"
    run_batch(request_for(scene_folder, straight), echo=lambda _: None, progress=False)

    resumed_files, straight_files = output_files(killed), output_files(straight)
    assert sorted(resumed_files) == sorted(straight_files)
    assert not [name for name in resumed_files if name.endswith(".partial")]
    for name in ("images.csv", "summary.csv"):
        pd.testing.assert_frame_equal(without_timings(killed / name), without_timings(straight / name))
        del resumed_files[name], straight_files[name]
    assert resumed_files == straight_files  # masks/*.json and report.html, byte for byte
