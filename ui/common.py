"""Bits every page uses: the page header with its help, the shared sidebar, placeholders."""

from __future__ import annotations

import streamlit as st

from explorer.metrics import effective_depth_width, path_histogram

APP_BLURB = ("Draw or pick a neural-network cell and see its connectivity: paths P, effective depth d̄ "
             "and width m̄ (Chen et al., NeurIPS 2022), cell width and depth (Shu et al., ICLR 2020).")


def fmt(x: float | None, undefined: str = "undefined") -> str:
    return undefined if x is None else f"{x:.4g}"


def sidebar() -> None:
    """The same sidebar block on every page: the app, the current cell, the teach switch."""
    with st.sidebar:
        st.caption(APP_BLURB)
        cell = st.session_state.get("cell")
        if cell is not None:
            hist = path_histogram(cell)
            dw = effective_depth_width(hist)
            st.markdown(
                f"**Current cell** ({cell.kind}, {cell.n_nodes} nodes)  \n"
                f"P = {sum(hist):,} · d̄ = {fmt(dw.effective_depth, '—')} · m̄ = {fmt(dw.effective_width, '—')}"
            )
        # Widget state does not survive a page switch, so the switch mirrors a plain session key.
        st.toggle("Teach", value=teaching(), key="_teach_toggle", on_change=_store_teach,
                  help="Show the formulas with this cell's numbers, how paths are counted, and what "
                  "the papers claim.")


def _store_teach() -> None:
    st.session_state["teach"] = st.session_state["_teach_toggle"]


def teaching() -> bool:
    """Whether the teach switch is on (any page)."""
    return bool(st.session_state.get("teach", False))


def page_header(title: str, help_md: str) -> None:
    """Title, the "What am I looking at?" help, and the shared sidebar."""
    sidebar()
    st.title(title)
    with st.expander("What am I looking at?"):
        st.markdown(help_md)


def coming_soon(title: str, what: str, issue: str) -> None:
    """A placeholder page: says what is coming and where it is tracked; shows no fake data."""
    sidebar()
    st.title(title)
    st.info(f"**Coming next:** {what}\n\nTracked in the issue *{issue}*.")
