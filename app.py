"""Architecture Explorer: the Streamlit entry point (navigation only; each page is a script)."""

import streamlit as st

st.set_page_config(page_title="Architecture Explorer", page_icon="🧬", layout="wide")

pages = {
    "Cells": [
        st.Page("pages/editor.py", title="Cell editor", icon="✏️", default=True),
        st.Page("pages/compare.py", title="Compare", icon="⚖️"),
    ],
    "Benchmarks": [
        st.Page("pages/browse.py", title="Warehouse", icon="🗄️"),
        st.Page("pages/proxies.py", title="Zero-cost proxies", icon="📈"),
    ],
    "Experiments": [
        st.Page("pages/jobs.py", title="Jobs", icon="⚙️"),
        st.Page("pages/experiments.py", title="Experiment results", icon="🔬"),
    ],
    "Labs": [
        st.Page("pages/nas_filter.py", title="NAS filter lab", icon="🧪"),
        st.Page("pages/principles.py", title="Principles lab", icon="📜"),
    ],
}
st.navigation(pages).run()
