"""Architecture Explorer: the Streamlit entry point (navigation only; each page is a script)."""

from pathlib import Path

import streamlit as st

from ui.common import DEEP_LINK_KEY, SHELL_KEY

# A local icon: a :material: page icon is fetched from Google's font servers, which offline hosts cannot reach.
st.set_page_config(page_title="Architecture Explorer", page_icon=str(Path(__file__).parent / "ui" / "icon.png"),
                   layout="wide")

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
st.session_state[SHELL_KEY] = True
page = st.navigation(pages)

# A deep link that reached a page before the app shell ran (see ui.common.ensure_shell): go to
# the page it asked for, with its query string.
deep = st.session_state.pop(DEEP_LINK_KEY, None)
if deep is not None:
    target = next((p for group in pages.values() for p in group if p.url_path == deep["page"]), None)
    st.session_state["_deep_query"] = deep["query"]
    if target is not None and target.url_path != page.url_path:
        st.switch_page(target)
if (query := st.session_state.pop("_deep_query", None)) is not None:
    st.query_params.from_dict(query)
page.run()
