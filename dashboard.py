"""The samcompare app: `streamlit run dashboard.py`. Pages live in pages/; they read widgets, call the core, draw."""

import streamlit as st

from samcompare_app.state import common_sidebar, tr

st.set_page_config(page_title="samcompare: compare SAM settings", page_icon=":material/grid_view:", layout="wide")

navigation = st.navigation(
    [
        st.Page(
            "pages/compare.py", title=tr("Compare settings", "設定の比較"), icon=":material/compare:", default=True
        ),
        st.Page("pages/why.py", title=tr("Why kept or dropped", "残る理由・落ちる理由"), icon=":material/filter_alt:"),
        st.Page("pages/evaluate.py", title=tr("Evaluate", "評価"), icon=":material/fact_check:"),
        st.Page("pages/history.py", title=tr("History", "履歴"), icon=":material/history:"),
        st.Page("pages/dataset.py", title=tr("Tune over a dataset", "データセットで調整"), icon=":material/dataset:"),
        st.Page("pages/models.py", title=tr("Models", "モデル"), icon=":material/deployed_code:"),
        st.Page("pages/parameters.py", title=tr("Parameters guide", "パラメータ解説"), icon=":material/menu_book:"),
    ]
)
common_sidebar()  # under the page menu, on every page
navigation.run()
