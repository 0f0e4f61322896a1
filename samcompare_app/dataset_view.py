"""The Dataset page: tune over a stored batch that has ground truth, training against validation, the best to compare.

The search runs in the core (`samcompare.tuning.dataset_search.tune_dataset`) on the batch's stored
images and the ground truth in its folder; this file reads widgets, shows progress, and draws the
result (kept per batch in session state: a few tables, no masks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from samcompare.config import ConfigError
from samcompare.models import ModelLoadError
from samcompare.store import DATABASE_NAME, ResultStore, StoreError, default_store_path
from samcompare.tuning import Objective
from samcompare.tuning.dataset import (
    DEFAULT_VAL_FRACTION,
    TRAINING,
    VALIDATION,
    DatasetError,
    StoredBatch,
    split_images,
    stored_batch_images,
    stored_batches,
)
from samcompare.tuning.dataset_search import DatasetProgress, DatasetTuneResult, tune_dataset
from samcompare_app.history import markdown_text
from samcompare_app.resources import cached_model, device_name
from samcompare_app.settings_editor import add_setting
from samcompare_app.state import language, tr
from samcompare_app.texts import column_config

RESULTS_KEY = "dataset_results"  # (store path, batch id) -> DatasetTuneResult
MESSAGE_KEY = "dataset_message"  # (name added, None) or (None, why it was not added)
OBJECTIVES = {
    "f1": ("F1 at an IoU", "ある IoU での F1"),
    "recall": ("recall at a precision floor", "適合率の下限つきの再現率"),
    "ap": ("COCO AP@[.50:.95]", "COCO AP@[.50:.95]"),
}
STAGES = {
    "decode": (0.0, 0.6, "decoding", "デコード中"),
    "search": (0.6, 0.9, "searching", "探索中"),
    "validate": (0.9, 1.0, "validating", "検証中"),
}
PARTS_JA = {TRAINING: "学習用", VALIDATION: "検証用"}  # the parts keep their names in English (the table's values)


def _objective_label(kind: str) -> str:
    english, japanese = OBJECTIVES[kind]
    return tr(english, japanese)


def _part_label(part: str) -> str:
    """The part's name in the session's language."""
    return tr(part, PARTS_JA.get(part, part))


def _objective_text(objective: Objective) -> str:
    """`Objective.describe()` in the session's language."""
    if language() != "ja" or objective.kind not in ("f1", "recall"):
        return objective.describe()
    at = f"IoU {objective.iou_threshold:g} での"
    if objective.kind == "f1":
        return f"{at} F1"
    floor = f"（適合率 >= {objective.min_precision:g}）" if objective.min_precision > 0 else ""
    return f"{at}再現率{floor}"


def open_chosen_store() -> ResultStore | None:
    """The store the user names (the app's history by default, or a batch's output folder); None when there is none."""
    text = st.text_input(
        tr("Store", "保存先"),
        value=str(default_store_path()),
        key="dataset_store",
        help=tr(
            "The app's history, or the output folder of `python -m samcompare batch ... --gt-dir ...` "
            "(its samcompare.db).",
            "アプリの履歴、または `python -m samcompare batch ... --gt-dir ...` の出力フォルダ（その samcompare.db）。",
        ),
    )
    path = Path(text.strip()).expanduser()
    if path.is_dir():
        path = path / DATABASE_NAME
    if not path.is_file():
        st.info(
            tr(
                f"No store at `{path}`. Run a batch with ground truth, "
                "`python -m samcompare batch FOLDER --preset 'SAM default' --gt-dir GTDIR --out OUT`, "
                "and give OUT here.",
                f"`{path}` に保存先がありません。正解データつきでバッチを実行し "
                "（`python -m samcompare batch FOLDER --preset 'SAM default' --gt-dir GTDIR --out OUT`）、"
                "OUT をここに入力してください。",
            ),
            icon=":material/info:",
        )
        return None
    try:
        return ResultStore(path)
    except StoreError as error:
        st.error(tr(f"Cannot open that store: {error}", f"その保存先を開けません: {error}"), icon=":material/error:")
        return None


def _objective_inputs() -> Objective:
    left, middle, right = st.columns(3)
    labels = {kind: _objective_label(kind) for kind in OBJECTIVES}  # fixed now: a format_func may run later
    kind = left.selectbox(
        tr("Objective", "目的"), list(OBJECTIVES), format_func=labels.__getitem__, key="dataset_objective"
    )
    iou = 0.5
    if kind != "ap":
        iou = middle.number_input(
            tr("Match at mask IoU ≥", "一致とみなすマスク IoU ≥"), 0.05, 1.0, 0.5, 0.05, key="dataset_iou"
        )
    floor = 0.0
    if kind == "recall":
        floor = right.number_input(
            tr("Precision at least", "適合率の下限"), 0.0, 1.0, 0.8, 0.05, key="dataset_min_precision"
        )
    return Objective(kind, float(iou), float(floor))


def dataset_section() -> None:
    """Pick a stored batch with ground truth, tune over it, show training against validation."""
    store = open_chosen_store()
    if store is None:
        return
    batches = stored_batches(store)
    if not batches:
        st.info(
            tr(
                "This store holds no batch scored against ground truth. Run one with `--gt-dir` and give its output "
                "folder above.",
                "この保存先には正解データで採点したバッチがありません。`--gt-dir` をつけてバッチを実行し、"
                "その出力フォルダを上に入力してください。",
            ),
            icon=":material/info:",
        )
        return
    index = st.selectbox(
        tr("Batch", "バッチ"), range(len(batches)), format_func=lambda i: batches[i].describe(), key="dataset_batch"
    )
    batch = batches[index]
    truth_text = st.text_input(
        tr("Ground-truth folder", "正解データのフォルダ"),
        value=str(batch.truth_folder or ""),
        key=f"dataset_truth_{batch.batch_id}",
        help=tr(
            "Ground truth per image, paired by file stem, as the batch read it.",
            "画像ごとの正解データ。バッチが読んだときと同じく、拡張子を除いたファイル名で画像と対応づけます。",
        ),
    )
    names = [config.name for config in batch.settings]
    left, middle, right, last = st.columns(4)
    start_index = left.selectbox(
        tr("Start from", "開始する設定"), range(len(names)), format_func=lambda i: names[i], key="dataset_start"
    )
    trials = middle.number_input(tr("Trials", "試行回数"), 5, 2000, 100, 5, key="dataset_trials")
    seed = right.number_input(tr("Seed", "シード"), 0, 2**31 - 1, 0, 1, key="dataset_seed")
    fraction = last.number_input(
        tr("Held out for validation", "検証用に残す割合"), 0.0, 0.9, DEFAULT_VAL_FRACTION, 0.05, key="dataset_fraction"
    )
    objective = _objective_inputs()
    st.caption(
        tr(
            f"Model {batch.model} (the batch's). Each training image is decoded once; every trial filters the "
            "cached candidates exactly as the official generator would and is scored against the ground truth. The "
            "held-out images are run afterwards with the start and the best setting, as `evaluate` runs them.",
            f"モデルは {batch.model}（バッチと同じ）。学習用の画像はそれぞれ 1 回だけデコードし、各試行はキャッシュした"
            "候補を公式の生成器とまったく同じように絞り込んで、正解データに対して採点します。検証用に残した画像は"
            "その後、`evaluate` と同じように開始の設定と最良の設定で実行します。",
        )
    )
    key = (str(store.path), batch.batch_id)
    if st.button(tr("Tune over the batch", "バッチ全体で調整"), type="primary", key="dataset_button"):
        result = _run(
            store, batch, Path(truth_text.strip()).expanduser(), objective, start_index, trials, seed, fraction
        )
        if result is not None:
            st.session_state.setdefault(RESULTS_KEY, {})[key] = result
    result = st.session_state.get(RESULTS_KEY, {}).get(key)
    if result is not None:
        show_result(result)


def _run(
    store: ResultStore,
    batch: StoredBatch,
    truth_dir: Path,
    objective: Objective,
    start_index: int,
    trials: int,
    seed: int,
    fraction: float,
) -> DatasetTuneResult | None:
    try:
        pairs = stored_batch_images(store, batch.batch_id, truth_dir)
        split = split_images(pairs.images, float(fraction), int(seed))
        model = cached_model(batch.model, device_name())
    except DatasetError as error:
        st.error(str(error), icon=":material/error:")
        return None
    except ModelLoadError as error:
        st.error(
            tr(
                f"Cannot load the batch's model {batch.model}: {error}",
                f"バッチのモデル {batch.model} を読み込めません: {error}",
            ),
            icon=":material/block:",
        )
        return None
    bar = st.progress(0.0, text=tr("starting", "開始"))

    def on_progress(progress: DatasetProgress) -> None:
        low, high, verb, verb_ja = STAGES[progress.stage]
        detail = f": {progress.detail}" if progress.detail else ""
        done = min(progress.done + 1, progress.total)
        text = tr(f"{verb} {done} of {progress.total}{detail}", f"{verb_ja} {done} / {progress.total}{detail}")
        bar.progress(low + (high - low) * progress.fraction, text=text)

    try:
        start = batch.settings[start_index]
        result = tune_dataset(
            model, split, objective, start, trials=int(trials), seed=int(seed), on_progress=on_progress
        )
    except (DatasetError, ConfigError) as error:
        bar.empty()
        st.error(str(error), icon=":material/error:")
        return None
    bar.progress(
        1.0,
        text=tr(
            f"{len(result.trials)} trials in {result.search_seconds:.1f} s",
            f"{len(result.trials)} 回の試行（{result.search_seconds:.1f} 秒）",
        ),
    )
    return result


def per_image_table(result: DatasetTuneResult) -> pd.DataFrame:
    """One row per image: its part, the objective under the start and the best, the change, the masks."""
    rows = []
    for part, scores in ((TRAINING, result.training), (VALIDATION, result.validation)):
        for image in scores:
            start, best = result.objective.score(image.start), result.objective.score(image.best)
            rows.append(
                {
                    "image": image.image,
                    "part": part,
                    result.start.name: start,
                    result.best.name: best,
                    "change": best - start,
                    "masks (start)": image.start.masks,
                    "masks (best)": image.best.masks,
                }
            )
    return pd.DataFrame(rows)


def trials_figure(result: DatasetTuneResult) -> go.Figure:
    values = np.array([trial.value for trial in result.trials])
    figure = go.Figure()
    figure.add_trace(go.Scatter(y=values, mode="markers", name=tr("trial", "試行"), marker={"size": 6, "opacity": 0.6}))
    figure.add_trace(
        go.Scatter(y=np.maximum.accumulate(values), mode="lines", name=tr("best so far", "それまでの最良"))
    )
    figure.add_hline(
        y=result.start_value,
        line_dash="dash",
        annotation_text=tr(f"start: {result.start.name}", f"開始: {result.start.name}"),
    )
    described = _objective_text(result.objective)
    figure.update_layout(
        title=tr(
            f"Mean {described} over the training images, per trial",
            f"学習用画像での {described} の平均（試行ごと）",
        ),
        xaxis_title=tr("trial", "試行"),
        yaxis_title=result.objective.name,
        height=320,
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0},
    )
    return figure


def show_result(result: DatasetTuneResult) -> None:
    """Training against validation, the verdicts, the trials, every image, and the best setting to use."""
    columns = st.columns(2)
    for column, part in zip(columns, (TRAINING, VALIDATION), strict=True):
        start, best = result.values(part)
        part_ja = _part_label(part)
        if len(start):
            name, count, start_name = result.objective.name, len(start), result.start.name
            column.metric(
                tr(f"{part.capitalize()}: mean {name} ({count} images)", f"{part_ja}: {name} の平均（{count} 枚）"),
                f"{best.mean():.3f}",
                tr(
                    f"{best.mean() - start.mean():+.3f} against {start_name}",
                    f"{start_name} に対して {best.mean() - start.mean():+.3f}",
                ),
            )
        else:
            column.metric(tr(f"{part.capitalize()}: no images", f"{part_ja}: 画像なし"), "–")
    parts = (TRAINING, VALIDATION) if result.validation else (TRAINING,)
    st.markdown("\n".join(f"- {_part_label(part)}: {markdown_text(result.paired(part).verdict())}" for part in parts))
    if not result.validation:
        st.warning(
            tr(
                "No image was held out: the training score alone says little about other images.",
                "検証用に残した画像がありません。学習用画像のスコアだけでは、ほかの画像での良し悪しはほとんどわかりません。",
            )
        )
    pool_mib = np.mean(result.pool_bytes) / 2**20
    st.caption(
        tr(
            f"{result.split}. Decoded in {result.decode_seconds:.1f} s; candidate pools "
            f"{pool_mib:.1f} MiB per image; {len(result.trials)} trials in "
            f"{result.search_seconds:.1f} s; validation in {result.validation_seconds:.1f} s.",
            f"{result.split}。デコード {result.decode_seconds:.1f} 秒、候補の保持に画像あたり "
            f"{pool_mib:.1f} MiB、{len(result.trials)} 回の試行に {result.search_seconds:.1f} 秒、"
            f"検証に {result.validation_seconds:.1f} 秒。",
        )
    )
    for name, why in result.skipped:
        st.warning(tr(f"{name} was left out: {why}", f"{name} は除外しました: {why}"))
    st.plotly_chart(trials_figure(result), key="dataset_trials_figure")
    table = per_image_table(result)
    st.dataframe(table, hide_index=True, key="dataset_images", column_config=column_config(table.columns))
    st.subheader(tr("The best setting", "最良の設定"))
    add, _ = st.columns(2)
    if add.button(tr("Add to the comparison", "比較に追加"), key="dataset_add", width="stretch"):
        problem = add_setting(result.best)
        st.session_state[MESSAGE_KEY] = (None, problem) if problem else (result.best.name, None)
    message = st.session_state.get(MESSAGE_KEY)
    if isinstance(message, tuple):
        added, problem = message
        if added is not None:
            st.success(
                tr(
                    f"Added “{added}” to the Compare page: run it there.",
                    f"「{added}」を比較のページに追加しました。そちらで実行してください。",
                )
            )
        elif problem:
            st.warning(problem)
    left, right = st.columns(2)
    left.code(result.best.to_json(), language="json")
    right.code(result.best.to_code(), language="python")
    left.download_button(
        "best.json", result.best.to_json() + "\n", file_name="best.json", mime="application/json", key="dataset_json"
    )
    right.download_button(
        "validation.csv",
        result.scores_frame(VALIDATION).to_csv(index=False),
        file_name="validation.csv",
        mime="text/csv",
        key="dataset_validation_csv",
    )
