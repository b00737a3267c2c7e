"""The Jobs page through Streamlit's AppTest, against a real SQLite store (no worker: the
page only reads and writes the store)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from db.store import JobStore
from explorer.cell.model import parse_cell
from explorer.cell.presets import get_preset
from explorer.jobs.queue import submit
from tests.conftest import REPO

PAGE = str(REPO / "pages" / "jobs.py")
NB201 = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("EXPLORER_DB_URL", "EXPLORER_READ_ONLY", "EXPLORER_ARTIFACT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EXPLORER_JOBS_REFRESH_S", "0")  # AppTest cannot run timed fragments
    return JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}", artifact_dir=tmp_path / "artifacts")


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_default_state_renders_and_says_no_worker_runs(env):
    at = _app()
    assert at.title[0].value == "Jobs"
    assert any("No worker is running" in w.value for w in at.warning)
    assert any("No jobs match" in i.value for i in at.info)


def test_submit_from_the_form_queues_a_validated_job(env):
    at = _app()
    at.selectbox(key="jobs_submit_kind").set_value("selftest").run()
    prefix = "jobs_form_selftest_new"
    at.number_input(key=f"{prefix}.steps").set_value(7)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    jobs = env.list()
    assert len(jobs) == 1 and jobs[0].kind == "selftest" and jobs[0].spec["steps"] == 7
    assert any(f"Queued job {jobs[0].id}" in s.value for s in at.success)
    assert at.session_state["jobs_selected"] == jobs[0].id


def test_the_form_starts_from_the_editor_cell_and_bad_input_is_refused(env):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["cell"] = parse_cell(NB201)
    at.run()
    at.selectbox(key="jobs_submit_kind").set_value("nngp_check").run()
    cell_box = at.text_area(key="jobs_form_nngp_check_new.cell")
    assert parse_cell(cell_box.value) == parse_cell(NB201)
    at.text_input(key="jobs_form_nngp_check_new.widths").set_value("[256, oops]")
    at.button[0].click().run()
    assert any("widths: not valid JSON" in e.value for e in at.error)
    assert env.list() == []


def test_cancel_clone_and_retry_buttons(env):
    queued = submit(env, "selftest", {"steps": 3})
    at = _app()
    assert at.session_state["jobs_selected"] == queued
    at.button(key="jobs_cancel").click().run()
    assert env.get(queued).status == "cancelled"

    at.button(key="jobs_retry").click().run()
    retried = env.list()[0]
    assert retried.parent_id == queued and retried.status == "queued"
    assert at.session_state["jobs_selected"] == retried.id

    at.button(key="jobs_clone_button").click().run()
    assert at.text_input is not None
    assert at.number_input(key=f"jobs_form_selftest_{retried.id}.steps").value == 3
    # Another kind picked after cloning stays picked, and its form queues that kind.
    at.selectbox(key="jobs_submit_kind").set_value("nngp_check").run()
    assert at.selectbox(key="jobs_submit_kind").value == "nngp_check"
    at.text_area(key=f"jobs_form_nngp_check_{retried.id}.cell").set_value(NB201)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception and not at.error
    assert env.list()[0].kind == "nngp_check"


def test_jobs_are_listed_by_name_analysis_jobs_by_their_train_job(env):
    dag3 = get_preset("DAG#3 (mixed)").cell.to_text()
    trained = submit(env, "train", {"network": {"cell": dag3, "width": 16}, "data": {"name": "digits"}, "seed": 1})
    contour = submit(env, "loss_contour", {"train_job": trained})
    at = _app()
    table = at.dataframe[0].value
    by_id = dict(zip(table["id"], table["job"], strict=True))
    assert by_id[trained] == "DAG#3 · width 16 · digits · seed 1"
    assert by_id[contour] == f"loss landscape of #{trained} DAG#3 · width 16 · digits · seed 1"
    assert at.selectbox(key="jobs_selected").value == contour
    assert f"#{trained} DAG#3 · width 16 · digits · seed 1" in at.selectbox(key="jobs_selected").options


def test_the_train_form_names_its_two_seeds_apart(env):
    at = _app()
    at.selectbox(key="jobs_submit_kind").set_value("train").run()
    labels = [n.label for n in at.number_input]
    assert "seed" in labels and "seed (data)" in labels


def test_a_finished_job_shows_curves_artifacts_and_a_failure_its_traceback(env):
    ok = submit(env, "selftest", {"steps": 3})
    job = env.claim("w", "cpu", ["selftest"])
    env.add_metrics(ok, [{"name": "loss", "value": v, "step": i} for i, v in enumerate([3.0, 2.0, 1.0])])
    env.put_artifact(ok, "table.csv", b"a,b\n1,2\n")
    env.finish(ok, job.attempts, "succeeded", result={"final_loss": 1.0})
    bad = submit(env, "selftest", {"steps": 3})
    job = env.claim("w", "cpu", ["selftest"])
    env.finish(
        bad, job.attempts, "failed", error="Traceback (most recent call last):\nBoom", message="RuntimeError: boom"
    )

    at = _app()
    assert at.session_state["jobs_selected"] == bad
    assert any("Boom" in c.value for c in at.code)
    at.selectbox(key="jobs_selected").set_value(ok).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1
    assert any("table.csv" in e.label for e in at.expander)


def test_read_only_mode_offers_no_submission_or_actions(env, monkeypatch):
    submit(env, "selftest", {})
    monkeypatch.setenv("EXPLORER_READ_ONLY", "1")
    at = _app()
    assert any("Read-only mode" in i.value for i in at.info)
    assert not [b for b in at.button if b.key in ("jobs_cancel", "jobs_retry", "jobs_clone_button")]
    assert not at.get("form")


# ------------------------------------------------------------------------------- a shared server

SECRET = "shared-server-secret"


def _bobs_job(store) -> int:
    from explorer.core.access import User

    return submit(store, "selftest", {"steps": 1, "size": 2}, user=User("bob", False, True))


def test_a_guest_on_a_shared_server_sees_no_jobs_and_cannot_submit(env, monkeypatch):
    monkeypatch.setenv("EXPLORER_SUBMIT_TOKEN", SECRET)
    _bobs_job(env)
    at = _app()
    assert any("enter your access token" in i.value for i in at.info)
    keys = [s.key for s in at.selectbox]
    assert "jobs_submit_kind" not in keys and "jobs_selected" not in keys  # no form; bob's job not offered
    assert "jobs_cancel" not in [b.key for b in at.button]


def test_signing_in_shows_only_your_jobs_and_submits_as_you(env, monkeypatch):
    from explorer.core.access import issue_token

    monkeypatch.setenv("EXPLORER_SUBMIT_TOKEN", SECRET)
    bobs = _bobs_job(env)
    at = _app()
    at.text_input(key="_token_input").input("alice.forged").run()
    assert any("not valid on this server" in e.value for e in at.sidebar.error)
    at.text_input(key="_token_input").input(issue_token(SECRET, "alice")).run()
    assert any("Signed in as **alice**" in c.value for c in at.sidebar.caption)
    assert "_token_input" not in [t.key for t in at.text_input]  # signed in: the box gives way to "Sign out"
    at.selectbox(key="jobs_submit_kind").set_value("selftest").run()
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    mine = env.list(owner="alice")
    assert len(mine) == 1 and at.session_state["jobs_selected"] == mine[0].id
    assert at.selectbox(key="jobs_selected").options == [f"#{mine[0].id} selftest"]  # bob's job {bobs} is not there
    assert bobs != mine[0].id


def test_a_guessed_job_id_answers_as_if_unused(env, monkeypatch):
    from explorer.core.access import issue_token

    monkeypatch.setenv("EXPLORER_SUBMIT_TOKEN", SECRET)
    bobs = _bobs_job(env)
    env.put_artifact(bobs, "secret.json", b'{"bob": 1}')
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["access_token"] = issue_token(SECRET, "alice")
    at.session_state["jobs_selected"] = bobs
    at.run()
    assert not at.exception
    assert any(w.value == f"no job with id {bobs}" for w in at.warning)
    assert not any("secret.json" in e.label for e in at.expander)
