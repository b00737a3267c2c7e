"""No page shows the job store's password, and a store that cannot be reached gives a clean
message, not a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from explorer.core.settings import shown_url
from tests.conftest import REPO

URL = "postgresql+psycopg://u:secret@host.invalid/db"  # .invalid: never resolves, fails at once
PAGES = sorted(p.name for p in (REPO / "pages").glob("*.py"))


def _texts(node: Any) -> list[str]:
    """Every element's protobuf text on the page, main area and sidebar."""
    out = [str(node.proto)] if getattr(node, "proto", None) is not None else []
    children = getattr(node, "children", None) or {}
    for child in children.values():
        out += _texts(child)
    return out


def test_shown_url_hides_the_password() -> None:
    assert shown_url(URL) == "postgresql+psycopg://u:***@host.invalid/db"
    assert shown_url("sqlite:////data/jobs.sqlite") == "sqlite:////data/jobs.sqlite"
    assert "secret" not in shown_url("not a url u:secret@host")


@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_the_store_password(page: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EXPLORER_DB_URL", URL)
    monkeypatch.setenv("EXPLORER_JOBS_REFRESH_S", "0")
    at = AppTest.from_file(str(REPO / "pages" / page), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    texts = _texts(at._tree)
    assert not any("secret" in t for t in texts)
    if page in ("jobs.py", "experiments.py"):
        assert any("Cannot open the job store (postgresql+psycopg://u:***@host.invalid/db)" in e.value
                   for e in at.error)
