"""The two lab pages in a real browser: the NAS filter lab (search simulation, NASWOT form) and the
principles lab (hypotheses, a warehouse run, a train run, the read-only and shared modes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.store import JobStore
from explorer.jobs.label_parts import cell_title
from tests.e2e.conftest import run_streamlit, wait_idle
from tests.jobs_support import job_env
from tests.warehouse_fixtures import nb201_warehouse  # noqa: F401 (fixture)
from ui.access import SIGN_IN_NOTE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A valid NB201 cell that differs from the form's default (the preset "NB201 ResNet cell").
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def _env(tmp_path: Path, warehouse: Path, **extra: str) -> tuple[dict[str, str], JobStore]:
    """Server environment with its own job store and the session's warehouse; the store to check."""
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    env = job_env(url, tmp_path, EXPLORER_WAREHOUSE=str(warehouse), EXPLORER_JOBS_REFRESH_S="0", **extra)
    return env, JobStore(url, artifact_dir=tmp_path / "artifacts")


def _metric(page, label: str) -> str:
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue").inner_text()


def _no_errors(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stAlertContentError").count() == 0


def _choose(page, label: str, option: str, scope=None) -> None:
    """Pick an option of the selectbox labelled ``label`` (inside ``scope``, default the page)."""
    (scope or page).get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.get_by_role("option", name=option).first.click()  # the menu is a portal outside the scope
    wait_idle(page)


def _grid_text(page, key_index: int = 0) -> str:
    """The text of a st.dataframe: glide-data-grid keeps an accessible table beside its canvas."""
    grid = page.get_by_test_id("stDataFrame").nth(key_index)
    grid.wait_for()
    return grid.locator("table").inner_text()


def _open_nas_filter(new_page, base: str):
    page = new_page(base + "/nas_filter")
    # The first run simulates the searches (cached per server): wait for the section that follows them.
    page.get_by_text("Ablation over f").wait_for(timeout=90_000)
    wait_idle(page, timeout_ms=90_000)
    return page


def test_nas_filter_simulates_reacts_to_f_and_queues_naswot(nb201_warehouse: Path, new_page, tmp_path):  # noqa: F811
    env, store = _env(tmp_path, nb201_warehouse)
    with run_streamlit(env, log_dir=tmp_path) as base:
        page = _open_nas_filter(new_page, base)
        _no_errors(page)
        assert page.get_by_test_id("stPlotlyChart").count() == 3  # violin, picks, ablation
        assert _metric(page, "Share of the space kept") == "40.0 %"
        assert _metric(page, "Box d̄") == "0.938 – 2.312"
        page.get_by_text("Search simulation (R = 500").wait_for()
        assert page.get_by_text("No NASWOT jobs yet.").count() == 1

        # f = ½ → ¼ with the keyboard on the select slider: a narrower box keeps less of the space.
        slider = page.get_by_test_id("stSidebar").get_by_test_id("stSlider").filter(has_text="Box factor f")
        slider.scroll_into_view_if_needed()
        slider.get_by_role("slider").focus()
        page.keyboard.press("ArrowLeft")
        page.get_by_text("f = 0.25)").wait_for(timeout=60_000)
        wait_idle(page, timeout_ms=60_000)
        share = _metric(page, "Share of the space kept")
        assert share != "40.0 %" and float(share.split()[0]) < 40.0
        _no_errors(page)

        # The NASWOT form queues a job in the server's store; the job list then shows it.
        form = page.get_by_test_id("stForm")
        form.scroll_into_view_if_needed()
        form.get_by_label("Cell (NB201 string or any cell format)").fill(CELL)
        _choose(page, "Data", "synthetic", scope=form)
        batch = form.get_by_role("spinbutton", name="Batch size")
        batch.fill("16")
        batch.press("Tab")
        form.get_by_role("button", name="Queue NASWOT job").click()
        wait_idle(page)
        page.get_by_text("queued job 1").wait_for(timeout=30_000)
        job = store.get(1)
        assert job.kind == "naswot" and job.status == "queued"
        assert job.spec["network"]["cell"] == CELL and job.spec["data"]["name"] == "synthetic"
        assert job.spec["batch_size"] == 16
        assert page.get_by_text("No NASWOT jobs yet.").count() == 0
        jobs = _grid_text(page, -1)
        assert "queued" in jobs and cell_title(CELL) in jobs  # the cell by name (P, d̄, m̄), not its string
        _no_errors(page)


def test_nas_filter_on_a_shared_server_asks_a_guest_to_sign_in(nb201_warehouse: Path, new_page, tmp_path):  # noqa: F811
    env, store = _env(tmp_path, nb201_warehouse, EXPLORER_SUBMIT_TOKEN="e2e-shared-secret")
    with run_streamlit(env, log_dir=tmp_path) as base:
        page = _open_nas_filter(new_page, base)
        # The note's backticks render as code, so match its plain first clause, in the page body.
        page.get_by_test_id("stMain").get_by_text(SIGN_IN_NOTE.split(" (")[0]).wait_for(timeout=30_000)
        assert page.get_by_role("button", name="Queue NASWOT job").count() == 0
        assert page.get_by_test_id("stForm").count() == 0
        _no_errors(page)
        assert store.list() == []


def _open_principles(new_page, base: str):
    page = new_page(base + "/principles")
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=30_000)
    wait_idle(page)
    return page


def test_principles_read_only_shows_hypotheses_without_run_or_edit(nb201_warehouse: Path, new_page, tmp_path):  # noqa: F811
    from explorer.labs.catalogue import builtin

    env, _store = _env(tmp_path, nb201_warehouse, EXPLORER_READ_ONLY="1")
    with run_streamlit(env, log_dir=tmp_path) as base:
        page = _open_principles(new_page, base)
        overview = _grid_text(page)
        for key in ("H1", "H2", "H3", "H4", "H5", "H6"):
            assert key in overview
        h6 = builtin("H6")
        _choose(page, "Hypothesis", f"H6: {h6.title}")
        main = page.get_by_test_id("stMain")
        main.get_by_text(h6.statement).first.wait_for(timeout=30_000)
        # A draft opens its report: the protocol section names the warehouse as the source.
        main.get_by_text("Source: the benchmark warehouse, 200ep results").wait_for(timeout=30_000)
        assert _metric(page, "Status") == "draft"
        assert page.get_by_role("button", name="Run H6").count() == 0
        assert main.get_by_text("Edit (saves a new version").count() == 0
        _no_errors(page)


def test_principles_runs_a_warehouse_and_a_train_hypothesis(nb201_warehouse: Path, new_page, tmp_path):  # noqa: F811
    from explorer.labs.catalogue import builtin
    from explorer.labs.lab import train_specs

    env, store = _env(tmp_path, nb201_warehouse)
    with run_streamlit(env, log_dir=tmp_path) as base:
        page = _open_principles(new_page, base)
        main = page.get_by_test_id("stMain")
        assert main.get_by_text("Edit (saves a new version").count() == 1

        # H6 is answered from the warehouse at once: a verdict, a figure and the result in the overview.
        _choose(page, "Hypothesis", f"H6: {builtin('H6').title}")
        page.get_by_role("button", name="Run H6 v1 (locks it)").click()
        wait_idle(page, timeout_ms=60_000)
        # The click's run ends in st.rerun(): wait for the verdict, then for that second run to finish.
        page.get_by_test_id("stMetric").filter(has_text="Verdict").filter(has_text="supported").wait_for(timeout=60_000)
        wait_idle(page)
        assert _metric(page, "Status") == "analysed"
        page.get_by_test_id("stPlotlyChart").wait_for(timeout=30_000)  # plotly mounts after the metrics
        assert page.get_by_test_id("stPlotlyChart").count() == 1
        assert page.get_by_role("button", name="Run H6").count() == 0  # locked now
        assert "supported" in _grid_text(page)
        _no_errors(page)
        assert store.list() == []  # a warehouse protocol queues nothing

        # H1 trains: running it queues one train job per cell and seed, and the page says so.
        h1 = builtin("H1")
        _choose(page, "Hypothesis", f"H1: {h1.title}")
        page.get_by_role("button", name="Run H1 v1 (locks it)").click()
        wait_idle(page)
        n = len(train_specs(h1))
        page.get_by_text(f"0 of {n} jobs finished").wait_for(timeout=30_000)
        jobs = store.list()
        assert len(jobs) == n and {j.kind for j in jobs} == {"train"} and {j.status for j in jobs} == {"queued"}
        assert _metric(page, "Status") == "running"
        _no_errors(page)
