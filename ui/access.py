"""The signed-in user of this browser session, the sidebar box to sign in (shared servers only), and
the job store as this session sees it."""

from __future__ import annotations

import streamlit as st

from explorer.core.access import GUEST, AccessError, User, sign_in
from explorer.core.settings import Settings, get_settings, shown_url
from explorer.jobs.queue import JobStore, JobView, open_store

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


@st.cache_resource(show_spinner=False)
def _shared_store(db_url: str, artifact_dir: str, _settings: Settings) -> JobStore:
    # One store (one connection pool) per process and configuration, shared by every session; the
    # URL and folder are the cache key, the settings (unhashed) say how to open it.
    return open_store(_settings)


def session_jobs() -> JobView:
    """The configured job store as this session's user sees it. When the store cannot be opened,
    says so on the page, without the database password or a traceback, and stops the page."""
    settings = get_settings()
    try:
        return job_view(_shared_store(settings.db_url, str(settings.artifact_dir), settings))
    except Exception as exc:  # noqa: BLE001 - a bad URL or an unreachable server: say so, keep the page up
        st.error(f"Cannot open the job store ({shown_url(settings.db_url)}): {_without_secrets(str(exc), settings)}. "
                 "Check EXPLORER_DB_URL, or unset it to use the embedded SQLite store.")
        st.stop()
        raise  # st.stop() raises; this line only tells type checkers the function never returns here


def _without_secrets(text: str, settings: Settings) -> str:
    """``text`` (an error from the database driver) with the URL's password, if any, blanked out."""
    from sqlalchemy.engine import make_url

    try:
        password = make_url(settings.db_url).password
    except Exception:  # noqa: BLE001 - an unreadable URL: its error names no password
        password = None
    text = text.replace(settings.db_url, shown_url(settings.db_url))
    return text.replace(str(password), "***") if password else text


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

