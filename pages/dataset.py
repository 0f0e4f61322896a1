"""Dataset page: which setting is best over many images, tuned on some and checked on the others."""

from __future__ import annotations

import streamlit as st

from samcompare_app.dataset_view import dataset_section

st.title("Tune over a dataset")
st.caption(
    "A setting tuned on one image may not carry over. Here the search maximises the mean score over a stored "
    "batch's images that have ground truth, with some images held out (seeded) to check that the best setting "
    "holds on images the search never saw."
)
dataset_section()
