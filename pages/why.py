"""Why page: what each stage of the official pipeline did to every candidate, and what other thresholds would keep."""

from __future__ import annotations

import streamlit as st

from samcompare.config import AmgConfig
from samcompare.models import ModelLoadError
from samcompare_app.resources import cached_model
from samcompare_app.results_view import require_run
from samcompare_app.state import tr
from samcompare_app.why_view import (
    completion_section,
    dropped_section,
    funnel_section,
    funnels_of,
    histogram_section,
    legend_markdown,
    missing_funnels_section,
    sweep_section,
)

st.title(tr("Why a mask is kept or dropped", "マスクが残る理由・落ちる理由"))
run = require_run(tr("this page explains the masks of the current run.", "このページは今の結果のマスクを説明します。"))

st.caption(
    tr(
        f"{run.image_name} ({run.image.shape[1]} × {run.image.shape[0]} px) · model {run.models_text} on "
        f"{run.device} · {len(run.results)} settings",
        f"{run.image_name}（{run.image.shape[1]} × {run.image.shape[0]} px） · "
        f"モデル {run.models_text}（{run.device}） · 設定 {len(run.results)} 個",
    )
)


def load_model(config: AmgConfig):  # noqa: ANN201 - a setting's model, only when a section needs the network
    name = config.model or run.model_name
    try:
        return cached_model(name, run.device)
    except ModelLoadError as error:
        st.error(
            tr(f"Cannot load the model {name}: {error}", f"モデル {name} を読み込めません: {error}"),
            icon=":material/block:",
        )
        st.stop()


funnels = funnels_of(run)
if funnels is None:
    missing_funnels_section(load_model, run)
    st.stop()
everything = all(bool(funnel.computed.all()) for funnel in funnels)
st.markdown(legend_markdown(), unsafe_allow_html=True)
funnel_section(run, funnels)
completion_section(load_model, run, funnels)
histogram_section(run, funnels)
dropped_section(load_model, run, funnels, everything)
st.divider()
sweep_section(load_model, run)
