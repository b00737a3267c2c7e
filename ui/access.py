"""The signed-in user of this browser session, and the sidebar box to sign in (shared servers only)."""

from __future__ import annotations

import streamlit as st

from db.store import JobStore
from explorer.core.access import GUEST, AccessError, User, sign_in
from explorer.core.settings import get_settings
from explorer.jobs.queue import JobView

SIGN_IN_NOTE = ("This server is shared: enter your access token in the sidebar to run jobs and see yours "
                "(the operator prints it with `explorer token NAME`).")
TOKEN_KEY = "access_token"  # a plain session key: widget state does not survive a page switch


def current_user() -> User:
    """Who this session is: ``OPEN`` without a configured token, else the user its token names
    (``GUEST`` when none or a wrong one was given)."""
    settings = get_settings()
    try:
        return sign_in(settings.submit_token, st.session_state.get(TOKEN_KEY))
    except AccessError:
        return GUEST


def job_view(store: JobStore) -> JobView:
    """The job store as this session's user sees it: pages read jobs only through this."""
    return JobView(store, current_user())


def access_box() -> None:
    """Sign in and out, in the sidebar; nothing when the server has no token or is read-only."""
    settings = get_settings()
    if settings.submit_token is None or settings.read_only:
        return
    user = current_user()
    if user.name is not None:
        st.caption(f"Signed in as **{user.name}**" + (" (operator: every job)" if user.sees_all else ""))
        st.button("Sign out", key="_sign_out", on_click=lambda: st.session_state.pop(TOKEN_KEY, None))
        return
    st.text_input("Access token", type="password", key="_token_input", on_change=_store_token,
                  help="This server is shared: your token lets you run jobs and see your own. "
                       "The operator prints yours with `explorer token NAME`.")
    if error := st.session_state.get("_token_error"):
        st.error(error, icon="🔒")


def _store_token() -> None:
    token = (st.session_state.get("_token_input") or "").strip()
    st.session_state["_token_input"] = ""  # never leave the secret in a widget
    try:
        sign_in(get_settings().submit_token, token)
    except AccessError as exc:
        st.session_state["_token_error"] = str(exc)
        return
    st.session_state.pop("_token_error", None)
    st.session_state[TOKEN_KEY] = token

