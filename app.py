"""Architecture Explorer: the Streamlit entry point (navigation only; each page is a script)."""

import streamlit as st

st.set_page_config(page_title="Architecture Explorer", page_icon=":material/hub:", layout="wide")

pages = {
    "Cells": [
        st.Page("pages/editor.py", title="Cell editor", icon=":material/edit:", default=True),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    ],
    "Benchmarks": [
        st.Page("pages/browse.py", title="Warehouse", icon=":material/database:"),
        st.Page("pages/proxies.py", title="Zero-cost proxies", icon=":material/trending_up:"),
    ],
    "Experiments": [
        st.Page("pages/jobs.py", title="Jobs", icon=":material/settings:"),
        st.Page("pages/experiments.py", title="Experiment results", icon=":material/science:"),
    ],
    "Labs": [
        st.Page("pages/nas_filter.py", title="NAS filter lab", icon=":material/filter_alt:"),
        st.Page("pages/principles.py", title="Principles lab", icon=":material/gavel:"),
    ],
}
st.navigation(pages).run()
