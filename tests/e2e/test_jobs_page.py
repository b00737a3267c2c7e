"""The Jobs page in a real browser, with a real worker: submit a job, watch it finish, cancel one."""

from __future__ import annotations

import pytest

from db.store import JobStore
from tests.e2e.conftest import run_streamlit, wait_idle
from tests.jobs_support import job_env, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _submit(page, steps: str, sleep_s: str) -> None:
    if not page.get_by_role("spinbutton", name="steps", exact=True).is_visible():
        page.get_by_text("Submit a job").click()  # the expander keeps its state between runs
        wait_idle(page)
    for name, value in (("steps", steps), ("sleep s", sleep_s)):
        box = page.get_by_role("spinbutton", name=name, exact=True)
        box.fill(value)
        box.press("Tab")
    page.get_by_role("button", name="Submit job").click()
    wait_idle(page)


def test_submit_watch_finish_and_cancel(new_page, tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url, artifact_dir=tmp_path / "artifacts")
    env = job_env(url, tmp_path, EXPLORER_JOBS_REFRESH_S="1")
    worker = start_worker(env, tmp_path / "logs")
    try:
        with run_streamlit(env, log_dir=tmp_path) as base:
            page = new_page(base + "/jobs")
            _submit(page, "20", "0")
            page.get_by_text("Queued job 1 (selftest).").wait_for(timeout=30_000)
            # The detail view refreshes itself until the worker has finished the job.
            page.get_by_text("succeeded · 100%").first.wait_for(timeout=120_000)
            assert store.get(1).status == "succeeded"
            page.get_by_text("solution.npy").first.wait_for(timeout=30_000)

            _submit(page, "10000", "0.05")
            wait_for(lambda: store.get(2).pid, 60, "the slow job to start")
            page.get_by_role("button", name="Cancel").click()
            wait_idle(page)
            wait_for(lambda: store.get(2).status == "cancelled", 10, "the job to be cancelled")
            page.get_by_text("cancelled").first.wait_for(timeout=30_000)
            assert not page.get_by_test_id("stException").count()
    finally:
        assert stop_worker(worker) == 0


def test_a_shared_server_signs_in_and_shows_only_your_jobs(new_page, tmp_path):
    from explorer.core.access import User, issue_token
    from explorer.jobs.queue import submit

    secret = "e2e-shared-secret"
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url, artifact_dir=tmp_path / "artifacts")
    bobs = submit(store, "selftest", {"steps": 1, "size": 2}, user=User("bob", False, True))
    env = job_env(url, tmp_path, EXPLORER_JOBS_REFRESH_S="0", EXPLORER_SUBMIT_TOKEN=secret)
    with run_streamlit(env, log_dir=tmp_path) as base:
        page = new_page(base + "/jobs")
        page.get_by_text("enter your access token in the sidebar").first.wait_for(timeout=30_000)
        assert not page.get_by_text("Submit a job").count()
        token_box = page.get_by_label("Access token", exact=True).and_(page.get_by_test_id("stTextInputField"))
        token_box.fill(issue_token(secret, "alice"))
        token_box.press("Enter")
        wait_idle(page)
        page.get_by_text("Signed in as alice").wait_for(timeout=30_000)
        _submit(page, "5", "0")
        page.get_by_text("Queued job 2 (selftest).").wait_for(timeout=30_000)
        assert [j.owner for j in store.list()] == ["alice", "bob"]
        # The counts above the queue table and the job selector hold alice's job only.
        assert page.get_by_test_id("stCaptionContainer").filter(has_text="queued 1").count()
        assert not page.get_by_text(f"#{bobs} selftest", exact=True).count()
        assert not page.get_by_test_id("stException").count()


def test_clicking_a_row_of_the_queue_table_shows_that_job(new_page, tmp_path):
    from playwright.sync_api import expect

    from explorer.jobs.queue import submit

    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(url, artifact_dir=tmp_path / "artifacts")
    for seed in range(3):
        submit(store, "selftest", {"steps": 1, "size": 2, "seed": seed})
    env = job_env(url, tmp_path, EXPLORER_JOBS_REFRESH_S="0")
    with run_streamlit(env, log_dir=tmp_path) as base:
        page = new_page(base + "/jobs")
        selector = page.get_by_role("combobox", name="Job", exact=True)  # its input holds the shown value
        assert selector.input_value() == "#3 selftest"  # newest first, as the table
        grid = page.get_by_test_id("stDataFrame").first.bounding_box()
        header = row = 35  # the grid's default heights (px)

        def click_row(i: int) -> None:  # the row's selection box, left of the first column
            page.mouse.click(grid["x"] + 12, grid["y"] + header + row * i + row / 2)
            wait_idle(page)

        for i, job in ((2, "#1 selftest"), (1, "#2 selftest")):  # a second pick works too (the table is fresh)
            click_row(i)
            expect(selector).to_have_value(job, timeout=30_000)
            page.get_by_text("selftest · attempts 0/3").first.wait_for(timeout=30_000)
        assert not page.get_by_test_id("stException").count()
