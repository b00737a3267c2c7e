"""Random user sessions on the editor (tests/e2e/editor_driver.py): after every settled step the
URL, metrics, sidebar, edge table, preset/space boxes and canvas show one cell, nothing raised, the
console stayed clean, and a reload keeps the cell. A few short seeded sessions here; bench/editor_fuzz.py
runs long ones. A failure prints the seed and the steps, which replay it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import run_streamlit
from tests.e2e.editor_driver import run

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with run_streamlit(log_dir=tmp_path_factory.mktemp("streamlit")) as url:
        yield url


@pytest.mark.parametrize("seed,fast_share", [(1, 0.0), (2, 0.6)])
def test_random_editor_session_keeps_every_view_on_one_cell(app_url, new_page, seed, fast_share) -> None:
    page = new_page(app_url)
    session = run(page, seed, steps=10, fast_share=fast_share, reload_every=5)
    assert len(session.steps) >= 10


def test_quick_tab_clicks_after_a_preset_do_not_roll_the_cell_back(app_url, new_page) -> None:
    """QA: pick DAG#3, then click Paths and NNGP curves 0.3-2 s apart: the cell went back to ResNet."""
    from explorer.cell.presets import get_preset
    from tests.e2e.editor_driver import Session, _choose

    page = new_page(app_url)
    s = Session(page, seed=0)
    for delay in (300, 100, 0):
        _choose(s, "Preset", "DAG#3 (mixed)", 20_000)
        page.wait_for_timeout(delay)
        page.get_by_role("tab", name="Paths").click()
        page.wait_for_timeout(delay)
        page.get_by_role("tab", name="NNGP curves").click()
        s.settle()
        assert s.check() == get_preset("DAG#3 (mixed)").cell
        _choose(s, "Preset", "NB201 ResNet cell", 20_000)
        s.settle()
