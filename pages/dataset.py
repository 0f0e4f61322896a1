"""Dataset page: which setting is best over many images, tuned on some and checked on the others."""

from __future__ import annotations

import streamlit as st

from samcompare_app.dataset_view import dataset_section
from samcompare_app.state import tr

st.title(tr("Tune over a dataset", "データセット全体で調整"))
st.caption(
    tr(
        "A setting tuned on one image may not carry over. Here the search maximises the mean score over a stored "
        "batch's images that have ground truth, with some images held out (seeded) to check that the best setting "
        "holds on images the search never saw.",
        "1 枚の画像で調整した設定がほかの画像でも通用するとは限りません。ここでは、保存したバッチのうち正解データの"
        "ある画像でのスコアの平均を最大にするよう探索し、一部の画像を（シード固定で）検証用に残して、探索が一度も"
        "見ていない画像でも最良の設定が通用するかを確かめます。",
    )
)
dataset_section()
