"""Bits every page uses: the page header with its help, and placeholders for coming pages."""

from __future__ import annotations

import streamlit as st


def page_header(title: str, help_md: str) -> None:
    st.title(title)
    with st.expander("What am I looking at?"):
        st.markdown(help_md)


def coming_soon(title: str, what: str, issue: str) -> None:
    """A placeholder page: says what is coming and where it is tracked; shows no fake data."""
    st.title(title)
    st.info(f"**Coming next:** {what}\n\nTracked in the issue *{issue}*.")
