"""Bits every page uses: the page header with its help, the shared sidebar, placeholders."""

from __future__ import annotations

import inspect
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.theory.paths import effective_depth_width, path_histogram
from ui.access import access_box

APP_BLURB = ("Draw or pick a neural-network cell and see its connectivity: paths P, effective depth d̄ "
             "and width m̄ (Chen et al., NeurIPS 2022), cell width and depth (Shu et al., ICLR 2020).")


def fmt(x: float | None, undefined: str = "undefined") -> str:
    return undefined if x is None else f"{x:.4g}"


def sidebar() -> None:
    """The same sidebar block on every page: the app, the current cell, the teach switch, and on a
    shared server the access token."""
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
        access_box()


def _store_teach() -> None:
    st.session_state["teach"] = st.session_state["_teach_toggle"]


def teaching() -> bool:
    """Whether the teach switch is on (any page)."""
    return bool(st.session_state.get("teach", False))


SHELL_KEY = "_app_shell"  # set by app.py on every run
DEEP_LINK_KEY = "_deep_link"


def ensure_shell(page_file: str) -> None:
    """Hand a page that runs without app.py over to app.py, which forwards to the page asked for.

    Until some session has run app.py's st.navigation, Streamlit treats pages/ as legacy
    auto-discovered pages: a deep link such as /browse opened right after the server starts runs
    the page script alone, without the app's layout and navigation (seen with Streamlit 1.67).
    """
    if st.session_state.get(SHELL_KEY):
        return
    ctx = get_script_run_ctx()
    main = getattr(ctx, "main_script_path", None)
    if main is None or Path(main).resolve() == Path(page_file).resolve():
        return  # the page is the app itself (AppTest.from_file on a page): nothing to hand over
    st.session_state[DEEP_LINK_KEY] = {"page": Path(page_file).stem, "query": st.query_params.to_dict()}
    st.switch_page("app.py")


def page_header(title: str, help_md: str) -> None:
    """Title, the "What am I looking at?" help, and the shared sidebar."""
    # The caller's file from its frame: inspect.stack() read every frame's source, ≈ 17 ms a run.
    ensure_shell(inspect.currentframe().f_back.f_code.co_filename)
    sidebar()
    st.title(title)
    with st.expander("What am I looking at?"):
        st.markdown(help_md)


def coming_soon(title: str, what: str, issue: str) -> None:
    """A placeholder page: says what is coming and where it is tracked; shows no fake data."""
    sidebar()
    st.title(title)
    st.info(f"**Coming next:** {what}\n\nTracked in the issue *{issue}*.")
