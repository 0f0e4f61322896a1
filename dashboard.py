"""The samcompare app: `streamlit run dashboard.py`. Pages live in pages/; they read widgets, call the core, draw."""

import streamlit as st

from samcompare_app.state import common_sidebar

st.set_page_config(page_title="samcompare: compare SAM settings", page_icon=":material/grid_view:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/compare.py", title="Compare settings", icon=":material/compare:", default=True),
        st.Page("pages/why.py", title="Why kept or dropped", icon=":material/filter_alt:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:"),
        st.Page("pages/history.py", title="History", icon=":material/history:"),
        st.Page("pages/dataset.py", title="Tune over a dataset", icon=":material/dataset:"),
        st.Page("pages/models.py", title="Models", icon=":material/deployed_code:"),
        st.Page("pages/parameters.py", title="Parameters guide", icon=":material/menu_book:"),
    ]
)
common_sidebar()  # under the page menu, on every page
navigation.run()
