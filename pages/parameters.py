"""Parameters guide: every generator parameter, what it does, and a small picture of its effect."""

from __future__ import annotations

import streamlit as st

from samcompare.config import (
    FAMILY_DEFAULTS,
    GENERATOR_PARAMETERS,
    POST_FILTER_PARAMETERS,
    SAM2_ONLY_PARAMETERS,
    AmgConfig,
)
from samcompare.help_text import parameter_help, parameter_label
from samcompare_app.parameter_examples import (
    MODEL_EXAMPLES,
    ExamplePicture,
    crop_diagram,
    custom_grid_diagram,
    grid_diagram,
    model_examples,
)
from samcompare_app.state import language

TEXT = {
    "en": {
        "title": "Parameters guide",
        "intro": "Every argument of `SamAutomaticMaskGenerator`, with SAM's default. Pictures of thresholds come "
        "from the demo model on a shape scene (16 points per side), two values of the parameter side by side; "
        "the others are diagrams.",
        "default": "default",
        "tuned": "The article's tuned setting: points_per_side 32, pred_iou_thresh 0.98, stability_score_thresh "
        "0.96, crop_n_layers 1, crop_n_points_downscale_factor 2, min_mask_region_area 100 (preset "
        "“High precision”).",
        "no_picture": "No picture: this changes speed, memory or the record format, not which masks you get.",
        "running": "Running the demo model for the example pictures (once)…",
        "no_examples": "The demo model could not make the example pictures",
        "beyond": "Post-filters beyond SamAutomaticMaskGenerator",
        "beyond_intro": "Not arguments of the official generator: samcompare applies them to its output, in this "
        "order, after every official stage. A setting without them gives exactly the official masks; "
        "the setting's Python code adds the few lines that apply them.",
        "off": "off",
        "sam2": "SAM 2.1's own parameters",
        "sam2_intro": "`SAM2AutomaticMaskGenerator` takes every argument above (with `pred_iou_thresh` 0.8 by "
        "default, and `min_mask_region_area` applied to the low-resolution logits) and these three more. "
        "Choose a SAM 2.1 model for a setting in the settings table (its Model column) to use them; a SAM "
        "model refuses them.",
    },
    "ja": {
        "title": "パラメータ解説",
        "intro": "`SamAutomaticMaskGenerator` のすべての引数と SAM の既定値です。しきい値の図はデモモデルを図形画像に"
        "（一辺 16 点で）適用し、パラメータの 2 つの値を並べた結果、その他は模式図です。",
        "default": "既定値",
        "tuned": "記事で調整された設定: points_per_side 32, pred_iou_thresh 0.98, stability_score_thresh 0.96, "
        "crop_n_layers 1, crop_n_points_downscale_factor 2, min_mask_region_area 100（プリセット「High precision」）。",
        "no_picture": "図はありません。速度・メモリ・出力形式が変わるだけで、得られるマスクは変わりません。",
        "running": "例の図のためにデモモデルを実行中（初回のみ）…",
        "no_examples": "デモモデルで例の図を作れませんでした",
        "beyond": "SamAutomaticMaskGenerator の範囲外の後処理フィルタ",
        "beyond_intro": "公式の生成器の引数ではありません。samcompare が公式のすべての段階の後で、その出力にこの順に"
        "適用します。使わない設定のマスクは公式とまったく同じです。設定の Python コードには、これらを適用する"
        "数行が加わります。",
        "off": "なし",
        "sam2": "SAM 2.1 固有のパラメータ",
        "sam2_intro": "`SAM2AutomaticMaskGenerator` は上のすべての引数（`pred_iou_thresh` の既定は 0.8、"
        "`min_mask_region_area` は低解像度のロジットに適用）に加えて、次の 3 つを取ります。使うには設定の表の"
        "モデル列でその設定に SAM 2.1 のモデルを選んでください。SAM のモデルではエラーになります。",
    },
}
RECORD_EXAMPLE = """{"segmentation": ..., "area": 812, "bbox": [40, 22, 31, 35], "predicted_iou": 0.97,
 "point_coords": [[56.0, 40.0]], "stability_score": 0.98, "crop_box": [0, 0, 128, 128]}
# binary_mask: segmentation is a bool array (H, W)
# uncompressed_rle: {"size": [H, W], "counts": [n0, n1, ...]} (column-major run lengths)
# coco_rle: {"size": [H, W], "counts": "compressed string"} (pycocotools)"""

lang = language()
text = TEXT[lang]
st.title(text["title"])
st.markdown(text["intro"])
st.info(text["tuned"])


def pictures(items: list[ExamplePicture]) -> None:
    columns = st.columns(len(items))
    for column, item in zip(columns, items, strict=True):
        column.image(item.picture, caption=item.caption(lang), width=256)


diagrams = {
    "points_per_side": lambda: [grid_diagram(4), grid_diagram(8), grid_diagram(16)],
    "crop_n_layers": lambda: [crop_diagram(0), crop_diagram(1), crop_diagram(2)],
    "crop_overlap_ratio": lambda: [crop_diagram(1, 0.1), crop_diagram(1, 0.6)],
    "crop_n_points_downscale_factor": lambda: [crop_diagram(1, downscale=1), crop_diagram(1, downscale=2)],
    "point_grids": lambda: [custom_grid_diagram()],
}
try:
    with st.spinner(text["running"]):
        examples = model_examples()
except Exception as error:  # noqa: BLE001 - the guide still reads well without the pictures
    examples = {}
    st.warning(f"{text['no_examples']}: {error}")

defaults = AmgConfig()
for parameter in GENERATOR_PARAMETERS:
    st.subheader(f"{parameter_label(parameter, lang)} · `{parameter}`")
    st.caption(f"{text['default']}: `{getattr(defaults, parameter)!r}`")
    st.markdown(parameter_help(parameter, lang))
    if parameter in diagrams:
        pictures(diagrams[parameter]())
    elif parameter in MODEL_EXAMPLES and parameter in examples:
        pictures(list(examples[parameter]))
    elif parameter == "output_mode":
        st.code(RECORD_EXAMPLE, language="python")
    else:
        st.caption(text["no_picture"])

st.header(text["beyond"])
st.markdown(text["beyond_intro"])
for parameter in POST_FILTER_PARAMETERS:
    st.subheader(f"{parameter_label(parameter, lang)} · `{parameter}`")
    st.caption(f"{text['default']}: {text['off']}")
    st.markdown(parameter_help(parameter, lang))

st.header(text["sam2"])
st.markdown(text["sam2_intro"])
sam2_defaults = FAMILY_DEFAULTS["sam2"]
for parameter in SAM2_ONLY_PARAMETERS:
    st.subheader(f"{parameter_label(parameter, lang)} · `{parameter}`")
    st.caption(f"{text['default']}: `{getattr(sam2_defaults, parameter)!r}`")
    st.markdown(parameter_help(parameter, lang))
